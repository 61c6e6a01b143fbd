@app
shop
@queues
orders
  deadLetterQueue faild
failed

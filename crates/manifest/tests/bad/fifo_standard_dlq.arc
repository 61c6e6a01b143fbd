@app
shop
@queues
orders.fifo
  deadLetterQueue failed
failed

@app
shop
@queues
orders
  alarm deadLetters 1

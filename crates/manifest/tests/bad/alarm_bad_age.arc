@app
shop
@queues
orders
  alarm oldestAge soon

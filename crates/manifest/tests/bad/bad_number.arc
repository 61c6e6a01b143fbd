@app
shop
@queues
orders
  visibilityTimeout abc

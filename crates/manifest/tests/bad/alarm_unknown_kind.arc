@app
shop
@queues
orders
  alarm oldAge 300

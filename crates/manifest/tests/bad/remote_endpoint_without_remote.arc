@app
shop
@queues
orders
  endpoint http://localhost:4566

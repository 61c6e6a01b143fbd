@app
shop

@queues
orders
  visibiltyTimeout 30

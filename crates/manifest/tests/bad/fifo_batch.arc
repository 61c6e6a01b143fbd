@app
shop
@queues
orders.fifo
  batchSize 50

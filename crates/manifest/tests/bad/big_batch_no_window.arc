@app
shop
@queues
jobs
  batchSize 100

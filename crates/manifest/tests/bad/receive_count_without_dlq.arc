@app
shop
@queues
jobs
  maxReceiveCount 5

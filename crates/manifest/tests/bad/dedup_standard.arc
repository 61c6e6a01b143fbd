@app
shop
@queues
jobs
  contentBasedDeduplication true

@app
shop
@queues
jobs
  visibilityTimeout 10
  timeout 60

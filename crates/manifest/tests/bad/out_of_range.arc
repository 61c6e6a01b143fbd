@app
shop
@queues
orders
  messageRetentionPeriod 30   # less than a minute

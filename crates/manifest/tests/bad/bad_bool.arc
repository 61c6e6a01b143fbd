@app
shop
@queues
orders
  reportBatchItemFailures yes

@app
shop
@queues
orders
  deadLetterQueue failed
  alarm oldestAge 60
  alarm oldestAge 120
failed

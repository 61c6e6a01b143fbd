@app
shop
@queues
audit
@events
alerts
  remote arn:aws:sns:eu-west-1:123456789012:alerts
  subscribers queue:audit

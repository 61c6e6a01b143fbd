@app
shop
@queues
orders
  remote arn:aws:sns:eu-west-1:123456789012:orders

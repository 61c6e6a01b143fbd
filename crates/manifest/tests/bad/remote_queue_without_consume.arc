@app
shop
@queues
orders
  remote https://sqs.eu-west-1.amazonaws.com/123456789012/orders
  timeout 5

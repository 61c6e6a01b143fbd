@app
shop
@queues
orders
  remote arn:aws:sqs:eu-west-1:123456789012:orders
  consume delete
  timeout 5
  visibilityTimeout 60

@app
shop
@queues
orders
  remote arn:aws:sqs:eu-west-1:123456789012:orders
  consume delet
  timeout 5

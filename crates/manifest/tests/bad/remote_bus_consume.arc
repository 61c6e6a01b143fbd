@app
shop
@bus
orders
  remote arn:aws:events:eu-west-1:123456789012:event-bus/orders
  consume delete

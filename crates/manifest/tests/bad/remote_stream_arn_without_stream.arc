@app
shop
@streams
clicks
  remote arn:aws:kinesis:eu-west-1:123456789012:clicks
  consumers analytics

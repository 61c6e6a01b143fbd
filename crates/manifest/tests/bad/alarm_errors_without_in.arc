@app
shop
@http
get /
  alarm errors 5 per 5m

@app
shop
@http
get /
  env LOG-LEVEL=debug

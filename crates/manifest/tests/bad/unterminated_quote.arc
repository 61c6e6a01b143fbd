@app
shop
@http
post /x
  build "make handler

@app
shop
@http
get /files/*/raw

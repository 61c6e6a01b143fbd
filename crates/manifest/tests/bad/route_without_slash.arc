@app
shop
@http
get users

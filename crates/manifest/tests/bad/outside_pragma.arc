get /
@app
shop

@app
shop
@http
fetch /

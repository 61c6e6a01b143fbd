@app
shop
@htp
get /

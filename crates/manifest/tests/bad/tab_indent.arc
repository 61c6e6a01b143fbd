@app
shop
@http
get /
	timeout 3

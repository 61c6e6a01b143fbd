@app
shop
@http
get /
@queues
jobs
@http
post /

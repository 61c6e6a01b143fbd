@app
shop
@http
get /users/:id
post /users
get /users/:name

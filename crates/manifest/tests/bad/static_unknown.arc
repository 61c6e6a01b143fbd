@app
shop
@static
folder public
spa true

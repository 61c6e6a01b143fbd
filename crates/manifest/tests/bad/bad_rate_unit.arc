@app
shop
@scheduled
weekly rate(1 week)

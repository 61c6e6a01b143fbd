@app
shop
@scheduled
hourly rate(2 hour)

@app
shop
@scheduled
daily rate(1 days)

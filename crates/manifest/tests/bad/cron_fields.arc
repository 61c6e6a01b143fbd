@app
shop
@scheduled
noon cron(0 12 * * ?)

@app
shop
@events
placed
  subscribers queue:mail

@app
shop
@streams
clicks
  consumers a
  startingPosition AT_TIMESTAMP

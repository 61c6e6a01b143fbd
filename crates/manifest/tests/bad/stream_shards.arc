@app
shop
@streams
clicks
  shards 0
  consumers a

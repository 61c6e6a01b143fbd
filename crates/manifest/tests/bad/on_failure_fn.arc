@app
shop
@streams
clicks
  consumers a
  onFailure fn:streams/dead

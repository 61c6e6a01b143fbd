@app
shop
@bus
default
  rule big-orders {"source": ["shop"]}
  target big-order fn:bus/big

@app
shop
@bus
default
  rule big {"source": "shop"}

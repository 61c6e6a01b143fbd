@app
shop
@bus
default
  rule big {"source": [{"prefx": "shop"}]}

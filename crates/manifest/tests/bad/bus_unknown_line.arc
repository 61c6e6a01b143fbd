@app
shop
@bus
orders
  rules big {"source": ["shop"]}

@app
shop
@events
orders
  filterPolicy {"customer": {"tier": ["gold"]}}

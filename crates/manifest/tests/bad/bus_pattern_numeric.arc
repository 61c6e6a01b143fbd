@app
shop
@bus
default
  rule big {"detail": {"total": [{"numeric": [">", "ten"]}]}}

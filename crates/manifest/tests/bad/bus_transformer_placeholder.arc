@app
shop
@bus
default
  rule big {"source": ["shop"]}
  target big fn:bus/big inputTransformer {"inputPathsMap": {"id": "$.detail.id"}, "inputTemplate": "order <nope>"}

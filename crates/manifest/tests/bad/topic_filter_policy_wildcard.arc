@app
shop
@events
orders
  filterPolicy {"kind": [{"wildcard": "a*"}], "n": [{"numeric": ["<"]}]}
  filterPolicyScope MessageBody

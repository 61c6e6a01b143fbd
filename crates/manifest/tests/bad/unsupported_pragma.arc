@app
shop
@tables
notes
  id *String

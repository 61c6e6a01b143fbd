@app shop

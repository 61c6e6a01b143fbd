@app
shop
@queues
ledger.fifo
@events
payments
  subscribers queue:ledger.fifo

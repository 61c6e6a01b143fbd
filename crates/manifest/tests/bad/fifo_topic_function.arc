@app
shop
@queues
ledger.fifo
@events
payments.fifo
  subscribers queue:ledger.fifo fn:events/audit

@app
shop
@scheduled
noon
  cron 0 12 * * ? *
  timezone Europe/Pariss

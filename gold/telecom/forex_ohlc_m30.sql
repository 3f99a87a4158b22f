-- depends_on: silver_telecom.forex_raw
select * from forex_ohlc(interval '30 minutes', 'prepared_layers.forex_ohlc_m30')

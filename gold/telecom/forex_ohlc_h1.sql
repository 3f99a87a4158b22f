-- depends_on: silver_telecom.forex_raw
select * from forex_ohlc(interval '1 hour', 'prepared_layers.forex_ohlc_h1')

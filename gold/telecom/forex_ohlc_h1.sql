-- depends_on: silver_telecom.forex_raw
select * from forex_ohlc(60, 'prepared_layers.forex_ohlc_h1')

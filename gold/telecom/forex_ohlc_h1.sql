-- depends_on: silver_telecom.forex_raw prepared_layers.forex_ohlc_m1
select * from forex_ohlc(60, 'prepared_layers.forex_ohlc_h1')

-- One stock traded (key stock_ticker); silver holds each ticker with its one company name.
select stock_ticker, any_value(stock_name) as stock_name
from silver_trades.transactions
group by stock_ticker

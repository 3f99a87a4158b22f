-- One day and ticker with trades (key trade_date, stock_ticker): how many were submitted and settled, and the
-- shares bought and sold and the USD value of those settled.
with
    trades as (
        select
            cast(transaction_date as date) as trade_date, stock_ticker, transaction_type, shares, amount_usd,
            settlement_status = 'settled' as settled
        from gold_trades.fact_trades
    )
select
    trade_date,
    stock_ticker,
    count(*) as trades,
    count(*) filter (where settled) as settled_trades,
    cast(coalesce(sum(shares) filter (where settled and transaction_type = 'buy'), 0) as bigint) as shares_bought,
    cast(coalesce(sum(shares) filter (where settled and transaction_type = 'sell'), 0) as bigint) as shares_sold,
    cast(coalesce(sum(amount_usd) filter (where settled), 0) as decimal(18, 2)) as value_usd
from trades
group by trade_date, stock_ticker

-- One transaction in silver with how it settled (key transaction_id): the source's transactions table,
-- partitioned by year, each year sorted by client and date so that Parquet row-group statistics let a client's
-- lookup skip the rest (the lake's client_transaction_idx).
select
    -- the trade as submitted
    t.transaction_id, t.transaction_date, t.client_id, t.transaction_type,
    t.stock_ticker, t.stock_name, t.shares, t.price, t.amount, t.currency,
    -- in the account's currency
    t.amount_account, t.account_currency, t.fx_rate,
    -- outcome
    t.transaction_status as submitted_status, s.settlement_status, s.balance_after, s.debt_after,
    t.transaction_channel,
    t.year
from silver_trades.transactions t
join silver_trades.settlements s using (transaction_id, year)
order by t.client_id, t.transaction_date, t.transaction_id

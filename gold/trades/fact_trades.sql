-- One transaction (key transaction_id) with its keys, amounts in three currencies and outcome, by year.
select
    -- keys
    t.transaction_id, t.transaction_date, date_key(t.transaction_date) as date_key,
    client_key(t.client_id) as client_key, t.stock_ticker,
    -- the trade
    t.transaction_type, t.shares, t.price, t.amount, t.currency,
    t.amount_account, t.account_currency, t.amount_usd,
    -- outcome
    t.transaction_status as submitted_status, s.settlement_status,
    t.transaction_channel,
    t.year
from silver_trades.transactions t
join silver_trades.settlements s using (transaction_id, year)

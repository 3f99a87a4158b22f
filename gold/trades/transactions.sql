-- One transaction in silver with how it settled (key transaction_id): the source's transactions table,
-- partitioned by year. Its contract sorts each file by client and date, in small row groups, so that Parquet
-- statistics let a client's lookup skip the rest (the source's client_transaction_idx).
select
    -- the trade as submitted
    transaction_id, transaction_date, client_id, transaction_type,
    stock_ticker, stock_name, shares, price, amount, currency,
    -- in the account's currency
    amount_account, account_currency, fx_rate,
    -- outcome
    transaction_status as submitted_status, settlement_status, balance_after, debt_after,
    transaction_channel,
    year
from silver_trades.settlements

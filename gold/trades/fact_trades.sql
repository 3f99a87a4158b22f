-- One transaction (key transaction_id) with its keys, amounts in three currencies and outcome, by year.
select
    -- keys
    transaction_id, transaction_date, date_key(transaction_date) as date_key,
    client_key(client_id) as client_key, stock_ticker,
    -- the trade
    transaction_type, shares, price, amount, currency,
    amount_account, account_currency, amount_usd,
    -- outcome
    transaction_status as submitted_status, settlement_status,
    transaction_channel,
    year
from silver_trades.settlements

-- One client (key client_key), with its final status.
select
    client_key(client_id) as client_key,
    client_id, name, country, account_type, risk_tolerance, account_currency, account_open_date, status
from gold_trades.clients

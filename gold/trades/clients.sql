-- One client (key client_id) with its account after its last transaction in settlement order; a client without
-- transactions keeps what was filed.
with
    last_settlement as (
        select
            client_id,
            max_by(balance_after, (transaction_date, transaction_id)) as balance_after,
            max_by(debt_after, (transaction_date, transaction_id)) as debt_after,
            max_by(status_after, (transaction_date, transaction_id)) as status_after
        from silver_trades.settlements
        group by client_id
    )
select
    c.client_id, c.name, c.email, c.date_of_birth, c.country, c.account_type,
    -- the account as it ends
    coalesce(l.balance_after, c.account_balance) as account_balance,
    cast(coalesce(l.debt_after, 0) as decimal(15, 2)) as debt,
    c.account_open_date,
    coalesce(l.status_after, c.status) as status,
    c.phone_number, c.address, c.risk_tolerance, c.account_currency,
    -- as filed
    c.account_balance as opening_balance,
    c.status as filed_status
from silver_trades.clients c
left join last_settlement l using (client_id)

-- One client (key client_id) with its account after its last transaction in settlement order; a client without
-- transactions keeps what was filed.
with
    last_settlement as (
        select client_id, balance_after, debt_after, status_after
        from (
            select *, row_number() over (
                partition by client_id order by transaction_date desc, transaction_id desc
            ) as latest
            from silver_trades.settlements
        )
        where latest = 1
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

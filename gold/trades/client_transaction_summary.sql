-- One client, with or without transactions (key client_id): the source's client_transaction_summary, counting
-- every transaction and summing the settled buys and sells in the account currency.
with
    totals as (
        select
            client_id,
            count(*) as total_transactions,
            sum(amount_account) filter (where transaction_type = 'buy' and settlement_status = 'settled') as spent,
            sum(amount_account) filter (where transaction_type = 'sell' and settlement_status = 'settled') as gained
        from gold_trades.transactions
        group by client_id
    )
select
    c.client_id,
    coalesce(t.total_transactions, 0) as total_transactions,
    cast(coalesce(t.spent, 0) as decimal(18, 2)) as total_spent,
    cast(coalesce(t.gained, 0) as decimal(18, 2)) as total_gained,
    c.account_balance as balance,
    c.debt,
    c.status,
    c.account_currency
from gold_trades.clients c
left join totals t using (client_id)

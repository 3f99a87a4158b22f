-- Every day from the first to the last transaction, so trends show days without transactions too.
with bounds as (select min(transaction_date) as first, max(transaction_date) as last from silver_payments.transactions)
select
    date_key(d) as date_key,
    cast(d as date) as full_date,
    day(d) as day,
    month(d) as month,
    quarter(d) as quarter,
    year(d) as year,
    cast(isodow(d) <= 5 as bigint) as weekday_flag
from bounds, unnest(generate_series(cast(first as date), cast(last as date), interval 1 day)) as days(d)
where first is not null

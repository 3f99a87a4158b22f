select
    t.transaction_id,
    date_key(t.transaction_ts) as date_key,
    cast(substr(t.customer_id, 2) as bigint) as customer_key,
    c.channel_id as channel_key,
    y.city_id as city_key,
    t.amount,
    t.status,
    t.processing_time,
    t.processing_delay_bucket,
    t.revenue,
    t.transaction_date
from silver_payments.transactions t
join silver_payments.channels c on c.channel_name = t.channel
join silver_payments.cities y on y.city = t.city

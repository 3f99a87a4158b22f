-- depends_on: gold_payments.fact_transactions gold_payments.dim_channel gold_payments.dim_customer
select k.full_date, c.city_name, c.state, c.region, k.* exclude (full_date, grain, channel_name, segment, city_key)
from daily_kpis() k
join gold_payments.dim_city c using (city_key)
where k.grain = 'city'

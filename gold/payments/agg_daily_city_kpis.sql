select k.full_date, c.city_name, c.state, c.region, k.* exclude (full_date, grain, item)
from gold_payments.agg_kpis_by_grain k
join gold_payments.dim_city c on c.city_key = cast(k.item as bigint)
where k.grain = 'city'

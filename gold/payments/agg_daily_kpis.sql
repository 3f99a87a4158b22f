-- depends_on: gold_payments.fact_transactions gold_payments.dim_channel gold_payments.dim_customer
select full_date, * exclude (full_date, grain, channel_name, segment, city_key) from daily_kpis() where grain = 'day'

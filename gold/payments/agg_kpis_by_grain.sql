-- depends_on: gold_payments.fact_transactions gold_payments.dim_channel gold_payments.dim_customer
select * from daily_kpis()

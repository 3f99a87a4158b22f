-- The dashboard's KPIs per day, overall and by channel, customer segment and city, in one pass (grouping sets);
-- agg_kpis_by_grain stores them, and the agg_daily_*kpis tables select their grain from it:
-- revenue of successful transactions, failure rate, mean processing time, and each over the 7 calendar days
-- ending on the row's day (rates and means over the window's transactions; revenue as the mean daily total).
create or replace macro daily_kpis() as table
with
    facts as (
        select cast(f.transaction_date as date) as full_date, c.channel_name, u.segment, f.city_key,
            f.status, f.revenue, f.processing_time
        from gold_payments.fact_transactions f
        join gold_payments.dim_channel c using (channel_key)
        join gold_payments.dim_customer u using (customer_key)
    ),
    daily as (
        select full_date, channel_name, segment, city_key,
            case
                when grouping(channel_name) = 0 then 'channel'
                when grouping(segment) = 0 then 'segment'
                when grouping(city_key) = 0 then 'city'
                else 'day'
            end as grain,
            count(*) as transactions,
            coalesce(sum(revenue) filter (where status = 'success'), 0) as total_revenue,
            count(*) filter (where status = 'failed') as failed,
            sum(processing_time) as seconds
        from facts
        group by grouping sets ((full_date), (full_date, channel_name), (full_date, segment), (full_date, city_key))
    )
select
    full_date, grain, coalesce(channel_name, segment, cast(city_key as varchar), 'all') as item, transactions,
    cast(total_revenue as decimal(24, 6)) as total_revenue,
    failed / transactions as failure_rate,
    seconds / transactions as avg_processing_time,
    avg(cast(total_revenue as double)) over w as total_revenue_ma7,
    sum(failed) over w / sum(transactions) over w as failure_rate_ma7,
    sum(seconds) over w / sum(transactions) over w as avg_processing_time_ma7
from daily
window w as (
    partition by grain, channel_name, segment, city_key
    order by full_date range between interval 6 days preceding and current row
);

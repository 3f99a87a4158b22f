-- agg_monthly_consumption: one row per meter and month, rolled up from the daily aggregate. Key: (meter_id, month).
with daily as (
    select * from gold_meters.agg_daily_consumption
),

dates as (
    select date_key, strftime(full_date, '%Y-%m') as month from gold_meters.dim_date
)

select
    daily.meter_id,
    dates.month,
    cast(sum(daily.readings) as bigint) as readings,
    cast(sum(daily.total_kwh) as decimal(18, 3)) as total_kwh,
    cast(sum(daily.peak_kwh) as decimal(18, 3)) as peak_kwh,
    max(daily.max_kwh) as max_kwh,
    sum(daily.avg_voltage * daily.readings) / sum(daily.readings) as avg_voltage,
    min(daily.min_voltage) as min_voltage,
    cast(sum(daily.anomaly_readings) as bigint) as anomaly_readings
from daily
join dates on dates.date_key = daily.date_key
group by daily.meter_id, dates.month

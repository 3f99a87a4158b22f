-- agg_monthly_consumption: one row per meter and month, rolled up from the daily aggregate. Key: (meter_id, month).
with daily as (
    select * from gold_meters.agg_daily_consumption
)

select
    meter_id,
    month,
    cast(sum(readings) as bigint) as readings,
    cast(sum(total_kwh) as decimal(18, 3)) as total_kwh,
    cast(sum(peak_kwh) as decimal(18, 3)) as peak_kwh,
    max(max_kwh) as max_kwh,
    sum(avg_voltage * readings) / sum(readings) as avg_voltage,
    min(min_voltage) as min_voltage,
    cast(sum(anomaly_readings) as bigint) as anomaly_readings
from daily
group by meter_id, month

-- agg_daily_consumption: one row per meter and day. Key: (meter_id, date_key). Partitioned by month.
with readings as (
    select * from gold_meters.fact_readings
),

times as (
    select * from gold_meters.dim_time
)

select
    readings.meter_id,
    readings.date_key,
    cast(readings.reading_ts as date) as day,
    count(*) as readings,
    cast(sum(readings.kwh) as decimal(18, 3)) as total_kwh,
    cast(coalesce(sum(readings.kwh) filter (where times.is_peak), 0) as decimal(18, 3)) as peak_kwh,
    max(readings.kwh) as max_kwh,
    avg(readings.voltage) as avg_voltage,
    min(readings.voltage) as min_voltage,
    count(readings.anomaly_reason) as anomaly_readings,
    readings.month
from readings
join times on times.time_key = readings.time_key
group by readings.meter_id, readings.date_key, cast(readings.reading_ts as date), readings.month

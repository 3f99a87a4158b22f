-- fact_readings: one row per accepted interval reading. Key: (meter_id, reading_ts). Partitioned by month.
with readings as (
    select * from silver_meters.readings
),

meters as (
    select * from gold_meters.dim_meter
)

select
    -- keys
    readings.meter_id,
    date_key(readings.reading_ts) as date_key,
    time_key(readings.reading_ts) as time_key,
    meters.consumer_type_code,
    meters.location_key,
    -- measures
    readings.reading_ts,
    readings.kwh,
    readings.voltage,
    readings.current_a,
    readings.power_factor,
    readings.frequency_hz,
    readings.anomaly_reason,
    readings.month
from readings
join meters on meters.meter_id = readings.meter_id

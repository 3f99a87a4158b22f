-- agg_location_summary: one row per division: meters, consumption, anomalies, billing. Key: location_key.
with locations as (
    select * from gold_meters.dim_location
),

meters as (
    select location_key, count(*) as meters
    from gold_meters.dim_meter
    group by location_key
),

consumption as (
    select
        dim_meter.location_key,
        sum(monthly.total_kwh) as total_kwh,
        sum(monthly.anomaly_readings) as anomaly_readings
    from gold_meters.agg_monthly_consumption as monthly
    join gold_meters.dim_meter as dim_meter on dim_meter.meter_id = monthly.meter_id
    group by dim_meter.location_key
),

billing as (
    select
        location_key,
        count(*) as bills,
        sum(total_amount) as billed_amount,
        sum(amount_paid) as collected_amount,
        sum(outstanding_amount) as outstanding_amount
    from gold_meters.fact_bills
    group by location_key
)

select
    locations.location_key,
    locations.district,
    locations.division,
    coalesce(meters.meters, 0) as meters,
    cast(coalesce(consumption.total_kwh, 0) as decimal(18, 3)) as total_kwh,
    cast(coalesce(consumption.anomaly_readings, 0) as bigint) as anomaly_readings,
    coalesce(billing.bills, 0) as bills,
    cast(coalesce(billing.billed_amount, 0) as decimal(18, 2)) as billed_amount,
    cast(coalesce(billing.collected_amount, 0) as decimal(18, 2)) as collected_amount,
    cast(coalesce(billing.outstanding_amount, 0) as decimal(18, 2)) as outstanding_amount,
    cast(billing.collected_amount / nullif(billing.billed_amount, 0) as double) as collection_rate
from locations
left join meters on meters.location_key = locations.location_key
left join consumption on consumption.location_key = locations.location_key
left join billing on billing.location_key = locations.location_key

-- agg_consumer_type_summary: one row per consumer type: meters, consumption, billing. Key: consumer_type_code.
with consumer_types as (
    select * from gold_meters.dim_consumer_type
),

meters as (
    select consumer_type_code, count(*) as meters
    from gold_meters.dim_meter
    group by consumer_type_code
),

consumption as (
    select
        dim_meter.consumer_type_code,
        sum(monthly.total_kwh) as total_kwh,
        count(*) as meter_months
    from gold_meters.agg_monthly_consumption as monthly
    join gold_meters.dim_meter as dim_meter on dim_meter.meter_id = monthly.meter_id
    group by dim_meter.consumer_type_code
),

billing as (
    select
        consumer_type_code,
        count(*) as bills,
        sum(total_amount) as billed_amount,
        sum(amount_paid) as collected_amount,
        sum(outstanding_amount) as outstanding_amount
    from gold_meters.fact_bills
    group by consumer_type_code
)

select
    consumer_types.consumer_type_code,
    consumer_types.category,
    consumer_types.tariff_code,
    coalesce(meters.meters, 0) as meters,
    cast(coalesce(consumption.total_kwh, 0) as decimal(18, 3)) as total_kwh,
    cast(consumption.total_kwh / consumption.meter_months as double) as avg_monthly_kwh_per_meter,
    coalesce(billing.bills, 0) as bills,
    cast(coalesce(billing.billed_amount, 0) as decimal(18, 2)) as billed_amount,
    cast(coalesce(billing.collected_amount, 0) as decimal(18, 2)) as collected_amount,
    cast(coalesce(billing.outstanding_amount, 0) as decimal(18, 2)) as outstanding_amount,
    cast(billing.collected_amount / nullif(billing.billed_amount, 0) as double) as collection_rate
from consumer_types
left join meters on meters.consumer_type_code = consumer_types.consumer_type_code
left join consumption on consumption.consumer_type_code = consumer_types.consumer_type_code
left join billing on billing.consumer_type_code = consumer_types.consumer_type_code

-- agg_bill_verification: one row per bill, recomputed from the readings in the lake and the tariff.
-- Key: bill_id. status = 'mismatch' when the units or the total on the bill differ from the recomputation.
-- depends_on: silver_meters.tariffs, silver_meters.tariff_slabs (read by the bill_charges macro)
with bills as (
    select * from gold_meters.fact_bills
),

meters as (
    select * from gold_meters.dim_meter
),

monthly_units as (
    select
        meter_id,
        cast(strptime(month, '%Y-%m') as date) as billing_month,
        readings,
        cast(round(total_kwh) as bigint) as units_kwh
    from gold_meters.agg_monthly_consumption
),

recomputed_units as (
    select
        bills.bill_id,
        meters.tariff_code,
        coalesce(monthly_units.readings, 0) as readings,
        coalesce(monthly_units.units_kwh, 0) as units_kwh
    from bills
    join meters on meters.meter_id = bills.meter_id
    left join monthly_units
        on monthly_units.meter_id = bills.meter_id
        and monthly_units.billing_month = bills.billing_month
),

recomputed as (
    select * from bill_charges(recomputed_units)
)

select
    bills.bill_id,
    bills.meter_id,
    bills.billing_month,
    recomputed.tariff_code,
    recomputed.readings,
    bills.units_kwh as units_billed,
    recomputed.units_kwh as units_recomputed,
    bills.total_amount as amount_billed,
    recomputed.total_amount as amount_recomputed,
    cast(bills.total_amount - recomputed.total_amount as decimal(14, 2)) as amount_difference,
    case
        when bills.units_kwh = recomputed.units_kwh and bills.total_amount = recomputed.total_amount then 'match'
        else 'mismatch'
    end as status
from bills
join recomputed on recomputed.bill_id = bills.bill_id

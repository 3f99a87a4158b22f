-- fact_bills: one row per monthly bill, with what has been paid against it. Key: bill_id.
with bills as (
    select * from silver_meters.bills
),

meters as (
    select * from gold_meters.dim_meter
),

paid as (
    select
        bill_id,
        sum(amount_paid) as amount_paid,
        max(payment_date) as last_payment_date
    from silver_meters.payments
    group by bill_id
)

select
    -- keys
    bills.bill_id,
    bills.meter_id,
    meters.consumer_type_code,
    meters.location_key,
    bills.billing_month,
    date_key(bills.billing_month) as billing_month_key,
    date_key(bills.issue_date) as issue_date_key,
    date_key(bills.due_date) as due_date_key,
    -- charges
    bills.units_kwh,
    bills.energy_charge,
    bills.fixed_charge,
    bills.gst,
    bills.electricity_duty,
    bills.tv_fee,
    bills.total_amount,
    -- payment
    cast(coalesce(paid.amount_paid, 0) as decimal(14, 2)) as amount_paid,
    cast(greatest(bills.total_amount - coalesce(paid.amount_paid, 0), 0) as decimal(14, 2)) as outstanding_amount,
    case
        when paid.amount_paid is null then 'unpaid'
        when paid.amount_paid < bills.total_amount then 'partial'
        when paid.last_payment_date <= bills.due_date then 'paid_on_time'
        else 'paid_late'
    end as payment_status,
    date_key(paid.last_payment_date) as last_payment_date_key,
    case
        when paid.amount_paid >= bills.total_amount
            then cast(greatest(date_diff('day', bills.due_date, paid.last_payment_date), 0) as bigint)
    end as days_late
from bills
join meters on meters.meter_id = bills.meter_id
left join paid on paid.bill_id = bills.bill_id

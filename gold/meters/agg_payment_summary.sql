-- agg_payment_summary: one row per billing month: billed, collected and how bills were paid. Key: billing_month.
with bills as (
    select * from gold_meters.fact_bills
)

select
    billing_month,
    count(*) as bills,
    cast(sum(total_amount) as decimal(18, 2)) as billed_amount,
    cast(sum(amount_paid) as decimal(18, 2)) as collected_amount,
    cast(sum(outstanding_amount) as decimal(18, 2)) as outstanding_amount,
    cast(sum(amount_paid) / nullif(sum(total_amount), 0) as double) as collection_rate,
    count(*) filter (where payment_status = 'paid_on_time') as paid_on_time,
    count(*) filter (where payment_status = 'paid_late') as paid_late,
    count(*) filter (where payment_status = 'partial') as partial,
    count(*) filter (where payment_status = 'unpaid') as unpaid,
    avg(days_late) filter (where payment_status = 'paid_late') as avg_days_late
from bills
group by billing_month

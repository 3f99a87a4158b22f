-- fact_payments: one row per payment received. Key: payment_id.
with payments as (
    select * from silver_meters.payments
),

bills as (
    select * from silver_meters.bills
)

select
    payments.payment_id,
    payments.bill_id,
    bills.meter_id,
    date_key(payments.payment_date) as payment_date_key,
    payments.amount_paid,
    payments.method,
    cast(payments.payment_date - bills.due_date as bigint) as days_after_due,
    payments.payment_date > bills.due_date as is_late
from payments
join bills on bills.bill_id = payments.bill_id

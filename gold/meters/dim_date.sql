-- dim_date: one row per calendar day, whole years around every date the facts use. Key: date_key.
with fact_dates as (
    select min(reading_ts)::date as first_day, max(reading_ts)::date as last_day from silver_meters.readings
    union all
    select min(billing_month), max(due_date) from silver_meters.bills
    union all
    select min(payment_date), max(payment_date) from silver_meters.payments
),

bounds as (
    select
        make_date(year(min(first_day)), 1, 1) as first_day,
        make_date(year(max(last_day)), 12, 31) as last_day
    from fact_dates
),

midnights as (
    select unnest(generate_series(first_day, last_day, interval 1 day)) as midnight
    from bounds
),

days as (
    select cast(midnight as date) as full_date
    from midnights
)

select
    date_key(full_date) as date_key,
    full_date,
    cast(year(full_date) as bigint) as year,
    cast(quarter(full_date) as bigint) as quarter,
    cast(month(full_date) as bigint) as month,
    monthname(full_date) as month_name,
    cast(day(full_date) as bigint) as day,
    cast(isodow(full_date) as bigint) as day_of_week,
    dayname(full_date) as day_name,
    isodow(full_date) >= 6 as is_weekend,
    case
        when month(full_date) in (12, 1, 2) then 'winter'
        when month(full_date) in (3, 4) then 'spring'
        when month(full_date) between 5 and 9 then 'summer'
        else 'autumn'
    end as season
from days

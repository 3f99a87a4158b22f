-- The source's Customer_Rating_Aggregate_Report over each agency's current file; an agency without valid rows
-- has zeros (the source left it out).
with valid as (
    select
        agency_id,
        count(customer_number) as customers,
        sum(customer_rating) as ratings,
        count(*) filter (where customer_status = 'high-value') as high_value
    from gold_ratings.customer_ratings
    group by agency_id
),

invalid as (
    select agency_id, count(*) filter (where invalid_customer_number) as bad_numbers
    from gold_ratings.file_invalid_rows
    where is_current
    group by agency_id
)

select
    a.agency_id as customer,
    coalesce(v.customers, 0) as count_customer_number,
    cast(coalesce(v.ratings, 0) as bigint) as sum_customer_rating,
    coalesce(v.high_value, 0) as high_value_count,
    coalesce(i.bad_numbers, 0) as invalid_customer_number_count,
    cast(
        half_up_percent(coalesce(i.bad_numbers, 0), coalesce(v.customers, 0) + coalesce(i.bad_numbers, 0))
        as decimal(5, 2)
    ) as invalid_customer_number_percent
from gold_ratings.dim_agency as a
left join valid as v on v.agency_id = a.agency_id
left join invalid as i on i.agency_id = a.agency_id

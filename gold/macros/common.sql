-- Keys shared by every star schema.
create or replace macro date_key(d) as year(d) * 10000 + month(d) * 100 + day(d);  -- yyyymmdd, without text
create or replace macro time_key(ts) as cast(hour(ts) * 100 + minute(ts) as bigint);
-- The calendar dimension: one row per day from `first` to `last` (nothing when they are null).
create or replace macro date_dimension(first, last) as table
select
    date_key(d) as date_key,
    cast(d as date) as full_date,
    day(d) as day,
    month(d) as month,
    quarter(d) as quarter,
    year(d) as year,
    cast(isodow(d) <= 5 as bigint) as weekday_flag
from unnest(generate_series(cast(first as date), cast(last as date), interval 1 day)) as days(d)
where first is not null;

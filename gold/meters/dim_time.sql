-- dim_time: one row per minute of the day. Key: time_key (hhmm).
with minutes as (
    select hour, minute
    from unnest(generate_series(0, 23)) as hours(hour)
    cross join unnest(generate_series(0, 59)) as minutes(minute)
)

select
    cast(hour * 100 + minute as bigint) as time_key,
    cast(hour as bigint) as hour,
    cast(minute as bigint) as minute,
    case
        when hour < 6 then 'night'
        when hour < 12 then 'morning'
        when hour < 18 then 'afternoon'
        else 'evening'
    end as day_part,
    hour between 18 and 21 as is_peak
from minutes

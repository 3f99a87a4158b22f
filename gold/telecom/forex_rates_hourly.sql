-- Exact decimal sums make the mean independent of summation order, so every rebuild gives the same rate.
select
    minute_bucket(60, "timestamp") as datetime,
    pair_name,
    cast(sum(bid_price + ask_price) as double) / (2 * count(*)) as avg_mid_price,
    count(*) as tick_count,
    day
from silver_telecom.forex_raw
where rebuilt(day)
group by all

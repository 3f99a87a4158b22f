-- Macros as Spark runs them, where DuckDB's cannot be: the project's only Spark-specific SQL (README, "Spark").

-- forex_ohlc's indicators without a recursion: Spark SQL has no sequential scan, and DuckDB's recursion, one bar a
-- step, is one Spark job a bar (minutes for a week of bars). Each indicator (EMA: alpha = 2 / (n + 1); Wilder's ATR:
-- alpha = 1 / n) is, from the bar b it starts at (the last bar kept, or its seed: the mean of its first n inputs),
--     y(t) = (1 - alpha)^(t - b) * y(b) + alpha * sum over b < k <= t of (1 - alpha)^(t - k) * x(k),
-- summed by window over chunks of 1024 bars, each scaled from its own first bar so that no power overflows. A bar
-- more than a chunk back weighs under 2^-70 of the chunk before it and is left out. Equal to the recursion's floats
-- within 1e-12 relative, not bit for bit (tests/test_spark_conformance.py).
create or replace macro forex_ohlc(minutes, self) as table
with
    sequence as (select * from forex_bars(minutes, self)),
    indicators as (
        -- alpha in double precision: a literal such as 2.0 is a decimal, and Spark divides decimals to 6 places
        select 'ema_8' as indicator, 8 as n, 8 as seed_bar, cast(2 as double) / 9 as alpha, false as on_range
        union all select 'ema_21', 21, 21, cast(2 as double) / 22, false
        union all select 'atr_8', 8, 9, cast(1 as double) / 8, true
        union all select 'atr_21', 21, 22, cast(1 as double) / 21, true
    ),
    inputs as (
        select s.pair_name, s.bar_number, i.indicator, i.n, i.seed_bar, i.alpha,
            case when i.on_range then s.true_range else s.close_price end as x,
            case i.indicator when 'ema_8' then s.ema_8 when 'ema_21' then s.ema_21
                when 'atr_8' then s.atr_8 else s.atr_21 end as kept_value,
            not s.new as kept
        from sequence s
        cross join indicators i
    ),
    starts as (  -- from the last bar kept that has the indicator, else from the seed bar (null: not reached yet)
        select pair_name, indicator, alpha,
            coalesce(max(case when kept and kept_value is not null then bar_number end), max(seed_bar)) as b,
            coalesce(
                max_by(case when kept then kept_value end, case when kept and kept_value is not null then bar_number end),
                case when max(bar_number) >= max(seed_bar)
                    then avg(case when bar_number > seed_bar - n and bar_number <= seed_bar then x end) end
            ) as y
        from inputs
        group by pair_name, indicator, alpha
    ),
    terms as (
        select x.pair_name, x.bar_number, x.indicator, s.alpha, s.b, s.y,
            cast(floor((x.bar_number - s.b - 1) / 1024) as bigint) as chunk,
            (x.bar_number - s.b - 1) % 1024 as step,
            pow(1 - s.alpha, -((x.bar_number - s.b - 1) % 1024)) * x.x as scaled
        from inputs x
        join starts s using (pair_name, indicator)
        where x.bar_number > s.b
    ),
    chunk_sums as (
        select pair_name, indicator, chunk + 1 as chunk, sum(scaled) as total
        from terms
        group by pair_name, indicator, chunk
    ),
    computed as (
        select t.pair_name, t.bar_number, t.indicator,
            pow(1 - t.alpha, t.bar_number - t.b) * t.y + t.alpha * (
                pow(1 - t.alpha, t.step) * sum(t.scaled) over (
                    partition by t.pair_name, t.indicator, t.chunk order by t.bar_number rows unbounded preceding
                )
                + coalesce(pow(1 - t.alpha, t.step + 1024) * c.total, 0)
            ) as value
        from terms t
        left join chunk_sums c using (pair_name, indicator, chunk)
        union all
        select pair_name, b, indicator, y from starts  -- the seed bar's value
    ),
    by_bar as (
        select pair_name, bar_number,
            max(case when indicator = 'ema_8' then value end) as ema_8,
            max(case when indicator = 'ema_21' then value end) as ema_21,
            max(case when indicator = 'atr_8' then value end) as atr_8,
            max(case when indicator = 'atr_21' then value end) as atr_21
        from computed
        group by pair_name, bar_number
    )
select
    b.datetime, b.pair_name, b.bar_number, b.open_price, b.high_price, b.low_price, b.close_price, b.tick_count,
    i.ema_8, i.ema_21, i.atr_8, i.atr_21,
    cast(now() as timestamp) as created_at,
    strftime(b.datetime, '%Y-%m-%d') as day
from sequence b
left join by_bar i using (pair_name, bar_number)
where b.new;

-- Telecom prepared layers. Models partitioned by day rebuild only the days from getvariable('rebuild_from')
-- (null: everything); models that carry state forward read it from their own previous version.
create or replace macro rebuilt(day) as getvariable('rebuild_from') is null or day >= getvariable('rebuild_from');
create or replace macro kept(day) as getvariable('rebuild_from') is not null and day < getvariable('rebuild_from');
-- The partition after every day, of what is still open at the end of the data (tower sessions not closed yet,
-- each account's run then): a sequential model rebuilds every partition from the first changed day on, so
-- every refresh that brings CDR rebuilds this one.
create or replace macro open_day() as '9999-12-31';
-- `x` rounded down to a multiple of `step`, below zero too (% keeps the sign of x, on DuckDB and Spark alike).
create or replace macro floor_multiple(x, step) as x - (x % step + step) % step;
-- The start of the bucket `minutes` wide that holds `ts`, buckets aligned on the epoch as time_bucket aligns widths
-- that divide a day (Spark has no time_bucket).
create or replace macro minute_bucket(minutes, ts) as
    make_timestamp(floor_multiple(epoch_us(ts), cast(minutes as bigint) * 60000000));

-- Bid-price bars of `minutes`, each pair's bars numbered in sequence: the rebuilt days' bars (`new`) after enough bars
-- kept (the model's own previous version `self`, with their indicators) to seed or continue every indicator, each
-- with its true range. Bars never straddle midnight, so a day's bars come from that day's quotes. One-minute bars
-- are made of the quotes; wider bars of the one-minute bars (prepared_layers.forex_ohlc_m1, built first), which
-- give the same open, high, low, close and ticks: a scan of thousands of bars instead of millions of quotes.
create or replace macro forex_bars(minutes, self) as table
with
    pieces as (  -- quotes as bars of one tick, or one-minute bars
        select moment, pair_name, bid as open_price, bid as high_price, bid as low_price, bid as close_price,
            1 as tick_count
        from (
            select "timestamp" as moment, pair_name, cast(bid_price as double) as bid
            from silver_telecom.forex_raw
            where minutes = 1 and rebuilt(day)
        )
        union all
        select datetime, pair_name, open_price, high_price, low_price, close_price, tick_count
        from prepared_layers.forex_ohlc_m1
        where minutes > 1 and rebuilt(day)
    ),
    new_bars as (
        select
            minute_bucket(minutes, moment) as datetime,
            pair_name,
            arg_min(open_price, moment) as open_price,
            max(high_price) as high_price,
            min(low_price) as low_price,
            arg_max(close_price, moment) as close_price,
            cast(sum(tick_count) as bigint) as tick_count
        from pieces
        group by all
    ),
    carried as (  -- 22 bars: enough to seed the longest indicator (ATR-21, at bar 22)
        select datetime, pair_name, bar_number, open_price, high_price, low_price, close_price, tick_count,
            ema_8, ema_21, atr_8, atr_21, false as new
        from query_table(self)
        where kept(day)
        qualify row_number() over (partition by pair_name order by bar_number desc) <= 22
    ),
    numbered as (
        select n.datetime, n.pair_name,
            coalesce((select max(c.bar_number) from carried c where c.pair_name = n.pair_name), 0)
                + row_number() over (partition by n.pair_name order by n.datetime) as bar_number,
            n.open_price, n.high_price, n.low_price, n.close_price, n.tick_count,
            cast(null as double) as ema_8, cast(null as double) as ema_21,
            cast(null as double) as atr_8, cast(null as double) as atr_21, true as new
        from new_bars n
    )
select *,
    greatest(
        high_price - low_price, abs(high_price - lag(close_price) over w), abs(low_price - lag(close_price) over w)
    ) as true_range
from (select * from carried union all select * from numbered)
window w as (partition by pair_name order by bar_number);

-- The bars of `minutes` with TA-Lib's EMA-8/21 and ATR-8/21 over each pair's sequence of bars (forex_bars). Each is
-- a recursion: EMA y(t) = (x(t) - y(t-1)) * a + y(t-1) with a = 2 / (n + 1) over closes, seeded at bar n with the
-- mean of the first n; Wilder's ATR the same with a = 1 / n over true ranges, seeded at bar n + 1 with the mean of
-- bars 2..n+1. It is computed in closed form, from the bar b it starts at (the last bar kept, so that a refresh
-- computes only the new bars, or the seed):
--     y(t) = (1 - a)^(t - b) * y(b) + a * sum over b < k <= t of (1 - a)^(t - k) * x(k)
-- by window sums over chunks of 1024 bars, each term scaled from its chunk's first bar so that no power overflows;
-- a bar more than a chunk back weighs under 2^-70 of the chunk before and is left out. Window functions, not a
-- recursion one bar a step: Spark runs them too (a step is a Spark job), and DuckDB 4x as fast. Sums run in bar
-- order (running sums, never a parallel aggregate), so a build gives the same floats every time; a refresh and a
-- full build agree within about 1e-15 relative (TA-Lib's own recursion: within 1e-12, tests/test_prepared_layers.py).
create or replace macro forex_ohlc(minutes, self) as table
with
    sequence as (select * from forex_bars(minutes, self)),
    indicators as (
        -- alpha in double precision: Spark divides decimal literals (2.0) to 6 places
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
    seeds as (  -- each indicator's seed: the mean of its first n inputs, summed in bar order
        select pair_name, indicator, bar_number, seed
        from (
            select pair_name, indicator, bar_number, seed_bar,
                avg(case when bar_number > seed_bar - n then x end) over (
                    partition by pair_name, indicator order by bar_number rows unbounded preceding
                ) as seed
            from inputs
        )
        where bar_number = seed_bar
    ),
    starts as (  -- from the last bar kept that has the indicator, else from the seed bar (null: not reached yet)
        select pair_name, indicator, alpha,
            coalesce(max(case when kept and kept_value is not null then bar_number end), max(seed_bar)) as b,
            coalesce(max_by(kept_value, case when kept and kept_value is not null then bar_number end), max(seed))
                as y
        from inputs
        left join seeds using (pair_name, indicator, bar_number)
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
    running as (
        select *,
            sum(scaled) over (
                partition by pair_name, indicator, chunk order by bar_number rows unbounded preceding
            ) as within
        from terms
    ),
    chunk_sums as (  -- each chunk's whole sum (its last running sum), for the chunk after it
        select pair_name, indicator, chunk + 1 as chunk, within as total
        from running
        qualify row_number() over (partition by pair_name, indicator, chunk order by bar_number desc) = 1
    ),
    computed as (
        select r.pair_name, r.bar_number, r.indicator,
            pow(1 - r.alpha, r.bar_number - r.b) * r.y + r.alpha * (
                pow(1 - r.alpha, r.step) * r.within + coalesce(pow(1 - r.alpha, r.step + 1024) * c.total, 0)
            ) as value
        from running r
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

-- One subscriber's usage per bucket of `minutes`: calls by type, seconds, bytes by data type, and cost at the
-- tariff in force on the bucket's day, from the bucket's exact integer totals: of the feeds in 15-minute buckets, of
-- the 15-minute buckets (prepared_layers.cdr_usage_summary_15min, built first) in wider ones (30 and 60 minutes,
-- multiples of 15 that divide a day, so that a wide bucket is whole 15-minute buckets of one day): the same totals
-- from a quarter of the rows. The tariffs are configuration,
-- bronze/telecom/tariffs/; when bronze holds no tariff row at all (none loaded, none in quarantine) the seed's spec
-- applies on every day: 1 ZAR a minute billed per second, 49 ZAR a GB (2^30 bytes) billed per byte. Each row
-- names the tariff it was priced at (`tariff_source`). Days before the first tariff stop the build with one line
-- saying how to fix it. `tariffs` and `rejected` (silver_telecom.tariffs and its quarantine) are parameters so that
-- they bind when a model runs: every gold connection loads every domain's macros, before telecom silver may exist.
create or replace macro usage_summary(minutes, tariffs, rejected) as table
with
    calls as (
        select msisdn, minute_bucket(minutes, start_time) as bucket_start,
            count(*) filter (call_type = 'voice') as voice_calls,
            count(*) filter (call_type = 'video') as video_calls,
            cast(sum(call_duration_sec) as bigint) as call_seconds
        from silver_telecom.cdr_voice_calls
        where minutes = 15 and rebuilt(day)
        group by all
    ),
    data as (
        select msisdn, minute_bucket(minutes, event_datetime) as bucket_start,
            sum(up_bytes) filter (data_type = 'video') as up_bytes_video,
            sum(down_bytes) filter (data_type = 'video') as down_bytes_video,
            sum(up_bytes) filter (data_type = 'audio') as up_bytes_audio,
            sum(down_bytes) filter (data_type = 'audio') as down_bytes_audio,
            sum(up_bytes) filter (data_type = 'image') as up_bytes_image,
            sum(down_bytes) filter (data_type = 'image') as down_bytes_image,
            sum(up_bytes) filter (data_type = 'text') as up_bytes_text,
            sum(down_bytes) filter (data_type = 'text') as down_bytes_text,
            sum(up_bytes) filter (data_type = 'application') as up_bytes_application,
            sum(down_bytes) filter (data_type = 'application') as down_bytes_application,
            sum(up_bytes) as up_bytes,
            sum(down_bytes) as down_bytes
        from silver_telecom.cdr_data_usage
        where minutes = 15 and rebuilt(day)
        group by all
    ),
    usage as (
        select bucket_start, msisdn,
            coalesce(voice_calls, 0) as voice_calls,
            coalesce(video_calls, 0) as video_calls,
            coalesce(call_seconds, 0) as call_seconds,
            cast(coalesce(up_bytes_video, 0) as bigint) as up_bytes_video,
            cast(coalesce(down_bytes_video, 0) as bigint) as down_bytes_video,
            cast(coalesce(up_bytes_audio, 0) as bigint) as up_bytes_audio,
            cast(coalesce(down_bytes_audio, 0) as bigint) as down_bytes_audio,
            cast(coalesce(up_bytes_image, 0) as bigint) as up_bytes_image,
            cast(coalesce(down_bytes_image, 0) as bigint) as down_bytes_image,
            cast(coalesce(up_bytes_text, 0) as bigint) as up_bytes_text,
            cast(coalesce(down_bytes_text, 0) as bigint) as down_bytes_text,
            cast(coalesce(up_bytes_application, 0) as bigint) as up_bytes_application,
            cast(coalesce(down_bytes_application, 0) as bigint) as down_bytes_application,
            cast(coalesce(up_bytes, 0) as bigint) as up_bytes,
            cast(coalesce(down_bytes, 0) as bigint) as down_bytes
        from calls full join data using (msisdn, bucket_start)
    ),
    wider as (  -- the 15-minute buckets' totals, summed in each wider bucket
        select minute_bucket(minutes, bucket_start) as bucket_start, msisdn,
            cast(sum(voice_calls) as bigint) as voice_calls,
            cast(sum(video_calls) as bigint) as video_calls,
            cast(sum(call_seconds) as bigint) as call_seconds,
            cast(sum(up_bytes_video) as bigint) as up_bytes_video,
            cast(sum(down_bytes_video) as bigint) as down_bytes_video,
            cast(sum(up_bytes_audio) as bigint) as up_bytes_audio,
            cast(sum(down_bytes_audio) as bigint) as down_bytes_audio,
            cast(sum(up_bytes_image) as bigint) as up_bytes_image,
            cast(sum(down_bytes_image) as bigint) as down_bytes_image,
            cast(sum(up_bytes_text) as bigint) as up_bytes_text,
            cast(sum(down_bytes_text) as bigint) as down_bytes_text,
            cast(sum(up_bytes_application) as bigint) as up_bytes_application,
            cast(sum(down_bytes_application) as bigint) as down_bytes_application,
            cast(sum(up_bytes) as bigint) as up_bytes,
            cast(sum(down_bytes) as bigint) as down_bytes
        from prepared_layers.cdr_usage_summary_15min
        where minutes > 15 and rebuilt(day)
        group by all
    ),
    periods as (
        select valid_from, call_zar_per_minute, data_zar_per_gb,
            concat(_source_file, ':', _source_line) as tariff_source
        from query_table(tariffs)
        union all
        select cast('0001-01-01' as date), 1.0000, 49.0000, 'default'  -- from the first day there is
        where not exists (select * from query_table(tariffs)) and not exists (select * from query_table(rejected))
    ),
    in_force as (  -- each tariff until the next one
        select *, coalesce(lead(valid_from) over (order by valid_from), cast('9999-12-31' as date)) as valid_until
        from periods
    ),
    priced as materialized (
        select u.*, t.tariff_source,
            cast(u.call_seconds * t.call_zar_per_minute / 60 as decimal(18, 6)) as call_cost_zar,
            cast(cast(u.down_bytes + u.up_bytes as decimal(38, 0)) * t.data_zar_per_gb as double) / 1073741824
                as data_cost
        from (select * from usage union all select * from wider) u
        left join in_force t
            on cast(u.bucket_start as date) >= t.valid_from and cast(u.bucket_start as date) < t.valid_until
    ),
    unpriced as (
        select case when count(*) > 0 then error(
            'no tariff in force on ' || cast(count(distinct d) as varchar) || ' day(s) with usage ('
            || if(
                min(d) = max(d), cast(min(d) as varchar), cast(min(d) as varchar) || ' to ' || cast(max(d) as varchar)
            )
            || '): add a tariff valid from ' || cast(min(d) as varchar) || ' or earlier to bronze/telecom/tariffs/, '
            || 'a CSV file with the header valid_from,call_zar_per_minute,data_zar_per_gb'
            || (select if(count(*) > 0, '; ' || cast(count(*) as varchar) || ' tariff row(s) are in '
                || 'quarantine_telecom.tariffs', '') from query_table(rejected))
        ) end as stop
        from (select cast(bucket_start as date) as d from priced where tariff_source is null)
    )
select
    bucket_start, msisdn, voice_calls, video_calls, call_seconds,
    up_bytes_video, down_bytes_video, up_bytes_audio, down_bytes_audio, up_bytes_image, down_bytes_image,
    up_bytes_text, down_bytes_text, up_bytes_application, down_bytes_application,
    up_bytes, down_bytes,
    call_cost_zar,
    cast(data_cost as decimal(18, 6)) as data_cost_zar,
    cast(call_cost_zar + cast(data_cost as decimal(18, 6)) as decimal(18, 6)) as total_cost_zar,
    tariff_source,
    cast(now() as timestamp) as created_at,
    strftime(bucket_start, '%Y-%m-%d') as day
from priced
where (select stop from unpriced) is null;

-- The interactions of the rebuilt days (data events and calls) numbered into runs: maximal stretches of one
-- subscriber's consecutive interactions on one tower. Each subscriber's run still open before the rebuilt days
-- (prepared_layers.cdr_open_runs, the last day kept) goes first, standing for its interactions (`weight`).
-- Order: time, then the open run, data events, calls, then tower: ties are deterministic.
create or replace macro tower_runs() as table
with
    state as (
        select * from prepared_layers.cdr_open_runs
        where day = (select max(day) from prepared_layers.cdr_open_runs where kept(day))
    ),
    events as (
        select msisdn, tower_id, run_start as happened, run_end as ends, interaction_count as weight,
            (run_start, -1, tower_id) as k, day
        from state
        union all
        select msisdn, tower_id, event_datetime, event_datetime, 1, (event_datetime, 0, tower_id), day
        from silver_telecom.cdr_data_usage
        where rebuilt(day)
        union all
        select msisdn, tower_id, start_time, start_time + interval 1 second * call_duration_sec, 1,
            (start_time, 1, tower_id), day
        from silver_telecom.cdr_voice_calls
        where rebuilt(day)
    )
select *, sum(cast(tower_id is distinct from previous_tower as integer)) over (partition by msisdn order by k) as run
from (select *, lag(tower_id) over (partition by msisdn order by k) as previous_tower from events);

-- A session is a run of at least 3 consecutive interactions of a subscriber on one tower. It closes when the
-- subscriber's next interaction is on another tower and belongs to the day of that interaction (`closed_at`), so
-- a day's closed sessions are final once the day is. A session still open at the end of the data is listed too,
-- `is_open`, as far as it goes, in the partition open_day() after every day, which every refresh rebuilds: the
-- next one extends or closes it. A rebuild from day D continues the runs open before D
-- (prepared_layers.cdr_open_runs), so a refresh reads the new days and one day of state, not the history.
-- depends_on: silver_telecom.cdr_data_usage silver_telecom.cdr_voice_calls prepared_layers.cdr_open_runs
with
    runs as (
        select msisdn, run, any_value(tower_id) as tower_id, min(happened) as session_start,
            arg_max(ends, k) as session_end, sum(weight) as interaction_count
        from tower_runs()
        group by msisdn, run
    ),
    closed as (
        select *, lead(session_start) over (partition by msisdn order by run) as closed_at from runs
    )
select
    msisdn, tower_id, session_start, session_end, cast(interaction_count as bigint) as interaction_count,
    closed_at is null as is_open,
    closed_at,
    cast(now() as timestamp) as created_at,
    coalesce(strftime(closed_at, '%Y-%m-%d'), open_day()) as day
from closed
where interaction_count >= 3

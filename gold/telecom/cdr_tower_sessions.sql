-- A session is recorded once it has ended: when the subscriber's next interaction is on another tower. Its
-- partition is the day of that closing interaction, so a session is final once its day is; a run still open at
-- the end of the data is not a session yet. A rebuild from day D continues the runs open before D
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
    msisdn, tower_id, session_start, session_end, cast(interaction_count as bigint) as interaction_count, closed_at,
    cast(now() as timestamp) as created_at,
    strftime(closed_at, '%Y-%m-%d') as day
from closed
where interaction_count >= 3 and closed_at is not null

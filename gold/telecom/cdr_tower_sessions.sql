-- A session is recorded once it has ended: when the subscriber's next interaction is on another tower. Its
-- partition is the day of that closing interaction, so a session is final once its day is; a run still open at
-- the end of the data is not a session yet. A rebuild from day D continues the run each subscriber had open
-- before D. Interactions are ordered by time, then data before calls, then tower: ties are deterministic.
-- depends_on: silver_telecom.cdr_data_usage silver_telecom.cdr_voice_calls
with
    interactions as (
        select msisdn, tower_id, event_datetime as happened, 0 as kind, event_datetime as ends, day
        from silver_telecom.cdr_data_usage
        union all
        select msisdn, tower_id, start_time, 1, start_time + to_seconds(call_duration_sec), day
        from silver_telecom.cdr_voice_calls
    ),
    earlier as (
        select *, row(happened, kind, tower_id) as k from interactions where kept(day)
    ),
    last_tower as (
        select msisdn, arg_max(tower_id, k) as tower_id from earlier group by msisdn
    ),
    last_break as (  -- each subscriber's last interaction before D on a tower other than its last one
        select e.msisdn, max(e.k) as k
        from earlier e join last_tower t on e.msisdn = t.msisdn and e.tower_id <> t.tower_id
        group by e.msisdn
    ),
    open_runs as (
        select e.* from earlier e left join last_break b using (msisdn) where b.k is null or e.k > b.k
    ),
    ordered as (
        select msisdn, tower_id, happened, ends, k from open_runs
        union all
        select msisdn, tower_id, happened, ends, row(happened, kind, tower_id) from interactions where rebuilt(day)
    ),
    numbered as (
        select *, sum(cast(tower_id is distinct from previous_tower as integer)) over (partition by msisdn order by k)
            as run
        from (select *, lag(tower_id) over (partition by msisdn order by k) as previous_tower from ordered)
    ),
    runs as (
        select msisdn, run, any_value(tower_id) as tower_id, min(happened) as session_start,
            arg_max(ends, k) as session_end, count(*) as interaction_count
        from numbered
        group by msisdn, run
    ),
    closed as (
        select *, lead(session_start) over (partition by msisdn order by run) as closed_at from runs
    )
select
    msisdn, tower_id, session_start, session_end, interaction_count, closed_at,
    cast(now() as timestamp) as created_at,
    strftime(closed_at, '%Y-%m-%d') as day
from closed
where interaction_count >= 3 and closed_at is not null

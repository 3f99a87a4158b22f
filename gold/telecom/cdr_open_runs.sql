-- For every rebuilt day and every subscriber seen so far, the run it has open at the end of that day, so the
-- next refresh continues each run from one small partition instead of the whole history. The partition
-- open_day() holds every account at the end of the data (with no run yet: nulls, 0 interactions): it exists as
-- soon as accounts do (a CRM change rebuilds this model whole), so every later refresh rebuilds it and, after it,
-- the sessions still open that cdr_tower_sessions keeps there.
-- depends_on: silver_telecom.cdr_data_usage silver_telecom.cdr_voice_calls
with
    events as (select * from tower_runs()),
    per_day as (
        select msisdn, run, day, any_value(tower_id) as tower_id, min(happened) as first_happened,
            sum(weight) as interactions, arg_max(ends, k) as last_end
        from events
        group by msisdn, run, day
    ),
    cumulative as (  -- each subscriber's last run of each day, counted up to that day
        select msisdn, day, tower_id,
            min(first_happened) over (partition by msisdn, run) as run_start,
            last_end as run_end,
            sum(interactions) over (partition by msisdn, run order by day rows unbounded preceding)
                as interaction_count
        from per_day
        qualify row_number() over (partition by msisdn, day order by run desc) = 1
    ),
    accounts as (select distinct phone_number as msisdn from silver_telecom.crm_accounts),
    held as (  -- each subscriber's last run of a day holds until the next day it has one
        select *, lead(day) over (partition by msisdn order by day) as next_day
        from cumulative
        where msisdn in (select msisdn from accounts)
    ),
    days as (select distinct day from per_day where rebuilt(day) union select open_day())
select h.msisdn, h.tower_id, h.run_start, h.run_end, cast(h.interaction_count as bigint) as interaction_count, d.day
from held h
join days d on d.day >= h.day and (h.next_day is null or d.day < h.next_day)
union all  -- a day lists the subscribers seen by then; the last lists every account
select msisdn, null, null, null, cast(0 as bigint), open_day()
from accounts
where not exists (select * from cumulative c where c.msisdn = accounts.msisdn)

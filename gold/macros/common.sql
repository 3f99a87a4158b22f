-- Keys shared by every star schema.
create or replace macro date_key(d) as cast(strftime(d, '%Y%m%d') as bigint);
create or replace macro time_key(ts) as cast(hour(ts) * 100 + minute(ts) as bigint);

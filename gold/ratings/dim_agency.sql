-- Each agency's current file: the newest by the date in its name (an undated file counts as of the day it
-- arrived), then the later arrival, then the later name.
select agency_id, agency_table, current_file, file_date, arrived_at, files
from (
    select
        agency_id,
        agency_table,
        source_file as current_file,
        file_date,
        arrived_at,
        count(*) over (partition by agency_id) as files,
        row_number() over (
            partition by agency_id
            order by coalesce(file_date, cast(arrived_at as date)) desc, arrived_at desc, source_file desc
        ) as newest
    from silver_ratings.agency_files
)
where newest = 1

-- dim_location: one row per IESCO operation division. Key: location_key.
with divisions as (
    select * from silver_meters.divisions
)

select
    division_code as location_key,
    division,
    district
from divisions

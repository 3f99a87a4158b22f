-- dim_meter: one row per meter (customer connection). Key: meter_id.
with meters as (
    select * from silver_meters.meters
),

divisions as (
    select * from silver_meters.divisions
),

consumer_types as (
    select * from silver_meters.consumer_types
)

select
    -- ids
    meters.meter_id,
    meters.customer_name,
    meters.address,
    -- location
    divisions.division_code as location_key,
    meters.district,
    meters.division,
    -- consumer type and tariff
    meters.consumer_type_code,
    consumer_types.category,
    consumer_types.tariff_code,
    -- connection
    meters.sanctioned_load_kw,
    meters.meter_type,
    meters.phase,
    meters.installation_date,
    meters.reading_interval_minutes
from meters
join divisions
    on divisions.district = meters.district
    and divisions.division = meters.division
join consumer_types on consumer_types.consumer_type_code = meters.consumer_type_code

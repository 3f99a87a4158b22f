-- dim_consumer_type: one row per consumer type, with the tariff it is billed under. Key: consumer_type_code.
with consumer_types as (
    select * from silver_meters.consumer_types
),

tariffs as (
    select * from silver_meters.tariffs
)

select
    consumer_types.consumer_type_code,
    consumer_types.description,
    consumer_types.category,
    consumer_types.tariff_code,
    tariffs.description as tariff_description,
    tariffs.fixed_charge,
    tariffs.tv_fee,
    tariffs.gst_rate,
    tariffs.duty_rate
from consumer_types
join tariffs on tariffs.tariff_code = consumer_types.tariff_code

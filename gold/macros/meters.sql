-- Bill charges from units and tariff, in one place: gold recomputes bills with it (agg_bill_verification)
-- and the meters generator issues its bills with it, so the two can only disagree on the data.

-- Energy charge: each slab's units at the slab's rate (progressive slabs; flat tariffs have one open slab).
create or replace macro energy_charge(tariff, units) as (
    select coalesce(sum(greatest(0, least(units, coalesce(s.to_kwh, units)) - s.from_kwh) * s.rate_per_kwh), 0)
    from silver_meters.tariff_slabs s
    where s.tariff_code = tariff
);

-- One bill's charges for each row of `units_table` (columns tariff_code and units_kwh, others kept).
create or replace macro bill_charges(units_table) as table
    with energy as (
        select
            u.*,
            cast(energy_charge(u.tariff_code, u.units_kwh) as decimal(14, 2)) as energy_charge
        from query_table(units_table) as u
    ),
    charged as (
        select
            e.*,
            t.fixed_charge,
            cast(round((e.energy_charge + t.fixed_charge) * t.gst_rate, 2) as decimal(14, 2)) as gst,
            cast(round(e.energy_charge * t.duty_rate, 2) as decimal(14, 2)) as electricity_duty,
            t.tv_fee
        from energy as e
        join silver_meters.tariffs as t on t.tariff_code = e.tariff_code
    )
    select
        *,
        cast(energy_charge + fixed_charge + gst + electricity_duty + tv_fee as decimal(14, 2)) as total_amount
    from charged;

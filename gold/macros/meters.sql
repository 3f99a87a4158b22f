-- Bill charges from units and tariff, in one place: gold recomputes bills with it (agg_bill_verification)
-- and the meters generator issues its bills with it, so the two can only disagree on the data.

-- One bill's charges for each row of `units_table` (columns tariff_code and units_kwh, others kept). The energy
-- charge is each slab's units at the slab's rate (progressive slabs; flat tariffs have one open slab), computed once
-- per tariff and units.
create or replace macro bill_charges(units_table) as table
    with units as (
        select distinct tariff_code, units_kwh from query_table(units_table)
    ),
    slab_charges as (
        select
            u.tariff_code,
            u.units_kwh,
            coalesce(
                sum(greatest(0, least(u.units_kwh, coalesce(s.to_kwh, u.units_kwh)) - s.from_kwh) * s.rate_per_kwh), 0
            ) as energy_charge
        from units as u
        left join silver_meters.tariff_slabs as s on s.tariff_code = u.tariff_code
        group by u.tariff_code, u.units_kwh
    ),
    energy as (
        select
            u.*,
            cast(c.energy_charge as decimal(14, 2)) as energy_charge
        from query_table(units_table) as u
        join slab_charges as c
            on c.tariff_code is not distinct from u.tariff_code and c.units_kwh is not distinct from u.units_kwh
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

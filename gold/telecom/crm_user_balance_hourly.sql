-- Hourly costs per account, converted to WAK at the hour's mean mid prices, carried forward from the last hour
-- with quotes (null before the first quote): MRVZAR is ZAR per MRV and WAKMRV is MRV per WAK, so
-- WAK = ZAR / MRVZAR / WAKMRV. The running total continues from each account's last total before the rebuilt
-- days (this model's previous version).
with
    accounts as (
        select a.account_id, a.owner_name, a.email, a.phone_number,
            ad.street_address, ad.city, ad.state, ad.postal_code, ad.country,
            d.device_id, d.device_name, d.device_type, d.device_os
        from silver_telecom.crm_accounts a
        left join silver_telecom.crm_addresses ad using (account_id)
        left join (
            select * from silver_telecom.crm_devices
            qualify row_number() over (partition by account_id order by device_id desc) = 1
        ) d using (account_id)
    ),
    hours as (
        select u.bucket_start as datetime, a.*, u.call_cost_zar, u.data_cost_zar, u.total_cost_zar, u.day
        from prepared_layers.cdr_usage_summary_1hr u
        join accounts a on a.phone_number = u.msisdn
        where rebuilt(u.day)
    ),
    rates as (  -- the two pairs' mean mid prices of each hour with quotes
        select datetime,
            max(avg_mid_price) filter (where pair_name = 'WAKMRV') as wakmrv,
            max(avg_mid_price) filter (where pair_name = 'MRVZAR') as mrvzar
        from prepared_layers.forex_rates_hourly
        where pair_name in ('WAKMRV', 'MRVZAR')
        group by datetime
    ),
    hour_rates as (  -- each hour with costs at each pair's last mean up to it
        select datetime, avg_wakmrv_rate, avg_mrvzar_rate
        from (
            select datetime, listed,
                last_value(wakmrv ignore nulls) over w as avg_wakmrv_rate,
                last_value(mrvzar ignore nulls) over w as avg_mrvzar_rate
            from (
                select datetime, wakmrv, mrvzar, false as listed from rates
                union all
                select distinct datetime, null, null, true from hours
            )
            window w as (order by datetime, listed rows unbounded preceding)
        )
        where listed
    ),
    converted as (
        select h.*, r.avg_wakmrv_rate, r.avg_mrvzar_rate
        from hours h
        join hour_rates r using (datetime)
    ),
    in_wak as (
        select *,
            cast(call_cost_zar / avg_mrvzar_rate / avg_wakmrv_rate as decimal(18, 6)) as call_cost_wak,
            cast(data_cost_zar / avg_mrvzar_rate / avg_wakmrv_rate as decimal(18, 6)) as data_cost_wak,
            cast(total_cost_zar / avg_mrvzar_rate / avg_wakmrv_rate as decimal(18, 6)) as total_cost_wak
        from converted
    ),
    carried as (
        select account_id, arg_max(accumulated_cost_wak, datetime) as accumulated
        from prepared_layers.crm_user_balance_hourly
        where kept(day)
        group by account_id
    )
select
    i.datetime, i.account_id, i.owner_name, i.email, i.phone_number,
    i.street_address, i.city, i.state, i.postal_code, i.country,
    i.device_id, i.device_name, i.device_type, i.device_os,
    i.call_cost_zar, i.data_cost_zar, i.total_cost_zar, i.avg_wakmrv_rate, i.avg_mrvzar_rate,
    i.call_cost_wak, i.data_cost_wak, i.total_cost_wak,
    cast(
        coalesce(c.accumulated, 0)
        + coalesce(sum(i.total_cost_wak) over (partition by i.account_id order by i.datetime rows unbounded preceding), 0)
        as decimal(18, 6)
    ) as accumulated_cost_wak,
    cast(now() as timestamp) as created_at,
    i.day
from in_wak i
left join carried c using (account_id)

"""Interval readings of a block of meters over one month, computed column-wise with numpy.

Energy follows the meter's daily profile (an evening peak for homes), the season (May-Sep x1.4, Dec-Feb x0.9),
weekends, gamma noise, theft and meter failures (stuck at zero for days). Load shedding cuts supply per
district (longer in summer and in rural districts), so those intervals have no reading at all. Voltage is about
N(230, 5) V, frequency about N(50, 0.05) Hz. Energy is kept as integer Wh until written, so sums are exact.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from generators.core import rng_for
from generators.dirt import tag, untagged
from generators.meters.params import MetersParams
from generators.meters.reference import districts, profiles

SEASON = {5: 1.4, 6: 1.4, 7: 1.4, 8: 1.4, 9: 1.4, 12: 0.9, 1: 0.9, 2: 0.9}


def month_bounds(params: MetersParams, month: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The part of `month` inside the period, as [start, end)."""
    following = (month + dt.timedelta(days=32)).replace(day=1)
    start = max(month, params.start)
    end = min(following, params.end + dt.timedelta(days=1))
    return dt.datetime.combine(start, dt.time()), dt.datetime.combine(end, dt.time())


def shedding(params: MetersParams, month: dt.date, times: np.ndarray) -> dict[str, np.ndarray]:
    """Per district, which intervals of the month are shed; the same for every block of meters."""
    summer = 5 <= month.month <= 9
    hours = (times.astype("datetime64[h]") - times.astype("datetime64[D]")).astype(int)
    days = (times.astype("datetime64[D]") - times[0].astype("datetime64[D]")).astype(int)
    shed = {}
    for row in districts().iter_rows(named=True):
        rng = rng_for(params.seed, "shedding", row["district"], month.isoformat())
        per_day = row["shedding_hours_summer"] if summer else row["shedding_hours_winter"]
        n_days = int(days.max()) + 1
        # shedding comes in one block a day, starting at a random hour between 8:00 and 20:00
        first = rng.integers(8, 21, n_days)
        shed[row["district"]] = (hours >= first[days]) & (hours < first[days] + per_day)
    return shed


def block_readings(params: MetersParams, meters: pl.DataFrame, month: dt.date, block: int) -> pl.DataFrame:
    """Typed readings with physical-anomaly tags: meter_id, reading_ts, wh, voltage, current_a, power_factor,
    frequency_hz, _dirt, _detail."""
    rng = rng_for(params.seed, "readings", month.isoformat(), block)
    start, end = month_bounds(params, month)
    step = np.timedelta64(params.interval_minutes, "m")
    times = np.arange(np.datetime64(start, "m"), np.datetime64(end, "m"), step)
    hour = (times.astype("datetime64[h]") - times.astype("datetime64[D]")).astype(int)
    weekend = ((times.astype("datetime64[D]").astype(int) + 3) % 7) >= 5  # 1970-01-01 was a Thursday
    m, t = len(meters), len(times)

    _, hourly, weekend_factor = profiles()
    profile = meters["_profile"].to_numpy()
    energy = (meters["_daily_kwh"].to_numpy()[:, None] / 24) * hourly[profile][:, hour]
    energy *= np.where(weekend[None, :], weekend_factor[profile][:, None], 1.0)
    energy *= SEASON.get(month.month, 1.0) * params.interval_minutes / 60
    noise = rng.gamma(8.0, 1 / 8.0, (m, t))
    energy *= noise

    times_d = times.astype("datetime64[D]")
    theft_from = meters["_theft_from"].to_numpy().astype("datetime64[D]")
    stealing = ~np.isnat(theft_from)[:, None] & (times_d[None, :] >= theft_from[:, None])
    energy = np.where(stealing, energy * meters["_theft_keep"].to_numpy()[:, None], energy)

    failed = _failures(rng, meters["_failure_rate"].to_numpy(), times_d)
    energy[failed] = 0.0
    spike = (rng.random((m, t)) < params.dirt.spike) & ~failed
    zero = (rng.random((m, t)) < params.dirt.zero) & ~failed
    # a spike is a surge to ten times the meter's usual load for that hour (noise-free, so it always stands out)
    energy = np.where(spike, energy / noise * 10, np.where(zero, 0.0, energy))

    voltage = rng.normal(230, 5, (m, t))
    sag = rng.random((m, t)) < params.dirt.voltage_sag
    voltage = np.where(sag, rng.uniform(160, 205, (m, t)), voltage)
    frequency = rng.normal(50, 0.05, (m, t))
    fault = rng.random((m, t)) < params.dirt.frequency_fault
    frequency = np.where(
        fault,
        np.where(rng.random((m, t)) < 0.5, rng.uniform(48.5, 49.4, (m, t)), rng.uniform(50.6, 51.5, (m, t))),
        frequency,
    )
    power_factor = np.clip(meters["_power_factor"].to_numpy()[:, None] + rng.normal(0, 0.01, (m, t)), 0.5, 1.0)
    phases = np.where(meters["phase"].to_numpy() == "three", 3.0, 1.0)[:, None]
    current = energy / (params.interval_minutes / 60) * 1000 / (voltage * power_factor * phases)

    installed = meters["installation_date"].to_numpy().astype("datetime64[D]")
    district = meters["district"].to_numpy()
    shed = shedding(params, month, times)
    supplied = (times_d[None, :] >= installed[:, None]) & ~np.array([shed[d] for d in district])
    cols, rows = np.nonzero(supplied.T)  # time-major, meters in id order within each interval: the feed's order
    frame = pl.DataFrame(
        {
            "meter_id": meters["meter_id"].to_numpy()[rows],
            "reading_ts": times[cols].astype("datetime64[us]"),
            "wh": np.round(energy[rows, cols] * 1000).astype(np.int64),
            "voltage": np.round(voltage[rows, cols], 1),
            "current_a": np.round(current[rows, cols], 2),
            "power_factor": np.round(power_factor[rows, cols], 3),
            "frequency_hz": np.round(frequency[rows, cols], 2),
        }
    )
    frame = untagged(frame)
    for kind, mask in (("spike", spike), ("zero", zero | failed), ("voltage_sag", sag), ("frequency_fault", fault)):
        frame = tag(frame, mask[rows, cols], kind)
    return frame


def _failures(rng: np.random.Generator, monthly_rate: np.ndarray, days: np.ndarray) -> np.ndarray:
    """A failing meter registers zero for 1-7 days from a random day of the month."""
    first_day = days[0]
    day_index = (days - first_day).astype(int)
    n_days = int(day_index.max()) + 1
    fails = rng.random(len(monthly_rate)) < monthly_rate
    begin = rng.integers(0, n_days, len(monthly_rate))
    length = rng.integers(1, 8, len(monthly_rate))
    return fails[:, None] & (day_index[None, :] >= begin[:, None]) & (day_index[None, :] < (begin + length)[:, None])

"""Call detail records: subscribers active in bursts, mostly on their home tower.

An hour's events are a pure function of the seed and the hour, so any window of arrivals can be generated alone:
a window holds the events that *arrived* in it (a few seconds after they happened, some of them hours late),
which makes files out of order and some events late, as real feeds are.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from contracts.telecom.silver import DATA_TYPES
from generators.core import rng_for
from generators.telecom.params import LATEST_DELAY, TelecomParams
from generators.telecom.population import accounts

HOUR = dt.timedelta(hours=1)
LONGEST_CALL = 3_600
NEARBY = 3  # towers within this many ids of the home tower are its neighbours
SITES = tuple(
    f"https://{site}"
    for site in (
        "www.youtube.com/watch",
        "www.netflix.com/title",
        "open.spotify.com/track",
        "www.instagram.com/p",
        "www.facebook.com",
        "web.whatsapp.com",
        "www.news24.com/news24",
        "www.takealot.com/product",
        "mail.google.com/mail",
        "www.tiktok.com/video",
        "www.fnb.co.za/banking",
        "www.iol.co.za/news",
    )
)
# relative activity by hour of day (quiet at night, busy in the evening)
DIURNAL = np.array([0.2, 0.1, 0.1, 0.1, 0.2, 0.4, 0.8, 1.2, 1.3, 1.2, 1.1, 1.1, 1.2, 1.2, 1.1, 1.1, 1.2, 1.4, 1.6,
                    1.8, 1.8, 1.5, 1.0, 0.5])  # fmt: skip
DIURNAL = DIURNAL / DIURNAL.mean()
# (share of data events, log-normal median of up bytes, of down bytes) per data type
TRAFFIC = {"video": (0.2, 60e3, 25e6), "audio": (0.15, 20e3, 4e6), "image": (0.2, 15e3, 1.5e6),
           "text": (0.3, 3e3, 40e3), "application": (0.15, 40e3, 2e6)}  # fmt: skip


def window_events(params: TelecomParams, start: dt.datetime, end: dt.datetime) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(data usage, voice calls) that arrived in [start, end), in arrival order, with `_arrival` and `_late`."""
    first = max(0, int((start - LATEST_DELAY - HOUR - params.start) / HOUR))
    last = int((end - params.start) / HOUR)
    hours = [_hour(params, h) for h in range(first, last + 1)]
    in_window = pl.col("_arrival").is_between(pl.lit(start), pl.lit(end), closed="left")
    data = pl.concat([d for d, _ in hours]).filter(in_window).sort("_arrival", "msisdn")
    calls = pl.concat([c for _, c in hours]).filter(in_window).sort("_arrival", "msisdn")
    return data, calls


def _hour(params: TelecomParams, hour: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Every interaction that happened in hour `hour` of the period (counted from params.start)."""
    rng = rng_for(params.seed, "cdr", hour)
    began = params.start + hour * HOUR
    people = accounts(params)
    n, towers = len(people), params.tower_count
    bursts = rng.poisson(n * params.bursts_per_day / 24 * DIURNAL[began.hour])
    who = rng.integers(0, n, bursts)
    size = rng.geometric(1 / 4.5, bursts)
    home = people.get_column("home_tower").to_numpy()[who]
    away = rng.random(bursts) < 0.3
    burst_tower = np.where(away, _nearby(home, rng, towers), home)
    # one row per interaction
    burst = np.repeat(np.arange(bursts), size)
    gap = rng.integers(5, 120, len(burst))
    first_of_burst = np.r_[True, burst[1:] != burst[:-1]] if len(burst) else np.array([], dtype=bool)
    gap[first_of_burst] = 0
    offset = np.cumsum(gap) - np.repeat(np.cumsum(gap)[first_of_burst] - gap[first_of_burst], size)
    second = rng.integers(0, 3600, bursts)[burst] + offset
    handover = rng.random(len(burst)) < 0.08
    tower = np.where(handover, _nearby(burst_tower[burst], rng, towers), burst_tower[burst])
    late = rng.random(len(burst)) < params.dirt.late
    delay = np.where(late, rng.integers(3600, int(LATEST_DELAY.total_seconds()) - LONGEST_CALL, len(burst)),
                     rng.integers(1, 90, len(burst)))  # fmt: skip
    events = (
        pl.DataFrame(
            {
                # gathered in polars: numpy holds strings as objects, an Object column when an hour has no events
                "msisdn": people.get_column("phone_number").gather(who[burst]),
                "tower_id": tower,
                "_second": second,
                "_call": rng.random(len(burst)) < 0.2,
                "_delay": delay,
                "_late": late,
            }
        )
        .filter(pl.col("_second") < 3600)
        .unique(["msisdn", "_second"], keep="first", maintain_order=True)  # one interaction a second
        .with_columns((pl.lit(began) + pl.duration(seconds=pl.col("_second"))).alias("_ts"))
    )
    data = events.filter(~pl.col("_call"))
    calls = events.filter(pl.col("_call"))
    return _data_usage(data, rng), _voice_calls(calls, rng)


def _nearby(home: np.ndarray, rng: np.random.Generator, towers: int) -> np.ndarray:
    step = rng.integers(1, NEARBY + 1, len(home)) * rng.choice([-1, 1], len(home))
    return (home - 1 + step) % towers + 1


def _data_usage(events: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    n = len(events)
    kinds = list(TRAFFIC)
    kind = rng.choice(len(kinds), n, p=[TRAFFIC[k][0] for k in kinds])
    up_median = np.array([TRAFFIC[k][1] for k in kinds])[kind]
    down_median = np.array([TRAFFIC[k][2] for k in kinds])[kind]
    ip = rng.integers(0, 256, (n, 3)).astype(str)
    return events.select(
        "msisdn",
        "tower_id",
        pl.Series("up_bytes", (up_median * rng.lognormal(0, 0.8, n)).astype(np.int64)),
        pl.Series("down_bytes", (down_median * rng.lognormal(0, 0.8, n)).astype(np.int64)),
        pl.Series("data_type", np.array(DATA_TYPES)[[DATA_TYPES.index(k) for k in kinds]][kind]),
        pl.Series(
            "ip_address",
            np.char.add(
                "41.", np.char.add(np.char.add(np.char.add(ip[:, 0], "."), ip[:, 1]), np.char.add(".", ip[:, 2]))
            ),
        ),  # fmt: skip
        pl.Series("website_url", np.array(SITES)[rng.integers(0, len(SITES), n)]),
        pl.col("_ts").alias("event_datetime"),
        (pl.col("_ts") + pl.duration(seconds="_delay")).alias("_arrival"),
        "_late",
    )


def _voice_calls(events: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    n = len(events)
    duration = np.minimum(np.maximum(rng.lognormal(np.log(70), 1.0, n), 1), LONGEST_CALL).astype(np.int64)
    return events.select(
        "msisdn",
        "tower_id",
        pl.Series("call_type", np.where(rng.random(n) < 0.85, "voice", "video")),
        pl.Series("dest_nr", np.char.add("+27", (600_000_000 + rng.integers(0, 250_000_000, n)).astype(str))),
        pl.Series("call_duration_sec", duration),
        pl.col("_ts").alias("start_time"),
        # a call's record is written when it ends
        (pl.col("_ts") + pl.duration(seconds=pl.col("_delay") + pl.lit(pl.Series(duration)))).alias("_arrival"),
        "_late",
    )

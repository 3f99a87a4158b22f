"""Call detail records: subscribers active in bursts, mostly on their home tower.

An hour's events are a pure function of the seed and the hour, so any window of arrivals can be generated alone:
a window holds the events that *arrived* in it (a few seconds after they happened, some of them hours late),
which makes files out of order and some events late, as real feeds are.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from generators.core import rng_for
from generators.telecom.params import LATEST_DELAY, TelecomParams
from generators.telecom.population import accounts

HOUR = dt.timedelta(hours=1)
SECOND = 1_000_000  # microseconds
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
    """(data usage, voice calls) that arrived in [start, end), in arrival order, with `_arrival` and `_late`.

    Each hour draws from its own stream, in numpy; the hours' events become frames once per window."""
    first = max(0, int((start - LATEST_DELAY - HOUR - params.start) / HOUR))
    last = int((end - params.start) / HOUR)
    home = accounts(params).get_column("home_tower").to_numpy()
    hours = [_hour(params, h, home) for h in range(first, last + 1)]
    window = (_microseconds(start), _microseconds(end))
    data = _arrived([d for d, _ in hours], window)
    calls = _arrived([c for _, c in hours], window)
    return _data_frame(params, data).sort("_arrival", "msisdn"), _calls_frame(params, calls).sort("_arrival", "msisdn")


def _hour(params: TelecomParams, hour: int, home_tower: np.ndarray) -> tuple[dict, dict]:
    """Every interaction that happened in hour `hour` of the period (counted from params.start), as arrays of
    data sessions and of calls: `who` (position in accounts), `tower_id`, times in microseconds, and draws."""
    rng = rng_for(params.seed, "cdr", hour)
    n, towers = len(home_tower), params.tower_count
    bursts = rng.poisson(n * params.bursts_per_day / 24 * DIURNAL[(params.start + hour * HOUR).hour])
    who = rng.integers(0, n, bursts)
    size = rng.geometric(1 / 4.5, bursts)
    home = home_tower[who]
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
    call = rng.random(len(burst)) < 0.2
    kept = _one_a_second(who[burst], second)
    began = _microseconds(params.start + hour * HOUR)
    events = {
        "who": who[burst][kept],
        "tower_id": tower[kept],
        "_ts": began + second[kept] * SECOND,
        "_delay": delay[kept],
        "_late": late[kept],
    }
    call = call[kept]
    data = {name: values[~call] for name, values in events.items()}
    calls = {name: values[call] for name, values in events.items()}
    return _data_usage(data, rng), _voice_calls(calls, rng)


def _one_a_second(who: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Positions of the interactions inside the hour, the first of a subscriber's in any one second only."""
    inside = np.flatnonzero(second < 3600)
    _, first = np.unique(who[inside] * 3600 + second[inside], return_index=True)
    return inside[np.sort(first)]


def _nearby(home: np.ndarray, rng: np.random.Generator, towers: int) -> np.ndarray:
    step = rng.integers(1, NEARBY + 1, len(home)) * rng.choice([-1, 1], len(home))
    return (home - 1 + step) % towers + 1


def _data_usage(events: dict, rng: np.random.Generator) -> dict:
    n = len(events["who"])
    kinds = list(TRAFFIC)
    kind = rng.choice(len(kinds), n, p=[TRAFFIC[k][0] for k in kinds])
    up_median = np.array([TRAFFIC[k][1] for k in kinds])[kind]
    down_median = np.array([TRAFFIC[k][2] for k in kinds])[kind]
    ip = rng.integers(0, 256, (n, 3))
    up = (up_median * rng.lognormal(0, 0.8, n)).astype(np.int64)
    down = (down_median * rng.lognormal(0, 0.8, n)).astype(np.int64)
    site = rng.integers(0, len(SITES), n)
    return events | {
        "up_bytes": up,
        "down_bytes": down,
        "_kind": kind,
        "_ip": ip,
        "_site": site,
        "_arrival": events["_ts"] + events["_delay"] * SECOND,
    }


def _voice_calls(events: dict, rng: np.random.Generator) -> dict:
    n = len(events["who"])
    duration = np.minimum(np.maximum(rng.lognormal(np.log(70), 1.0, n), 1), LONGEST_CALL).astype(np.int64)
    voice = rng.random(n) < 0.85
    dest = 600_000_000 + rng.integers(0, 250_000_000, n)
    return events | {
        "_voice": voice,
        "_dest": dest,
        "call_duration_sec": duration,
        # a call's record is written when it ends
        "_arrival": events["_ts"] + (events["_delay"] + duration) * SECOND,
    }


def _arrived(hours: list[dict], window: tuple[int, int]) -> dict:
    """The hours' arrays end to end, keeping the events that arrived in the window."""
    joined = {name: np.concatenate([hour[name] for hour in hours]) for name in hours[0]}
    inside = (joined["_arrival"] >= window[0]) & (joined["_arrival"] < window[1])
    return {name: values[inside] for name, values in joined.items()}


def _data_frame(params: TelecomParams, data: dict) -> pl.DataFrame:
    ip = data["_ip"]
    return (
        pl.DataFrame(
            {
                "msisdn": _phones(params).gather(data["who"]),
                "tower_id": data["tower_id"],
                "up_bytes": data["up_bytes"],
                "down_bytes": data["down_bytes"],
                "data_type": pl.Series(list(TRAFFIC)).gather(data["_kind"]),
                "ip_address": ip[:, 0],
                "_ip1": ip[:, 1],
                "_ip2": ip[:, 2],
                "website_url": pl.Series(SITES).gather(data["_site"]),
                "event_datetime": data["_ts"].astype("datetime64[us]"),
                "_arrival": data["_arrival"].astype("datetime64[us]"),
                "_late": data["_late"],
            }
        )
        .with_columns(pl.format("41.{}.{}.{}", "ip_address", "_ip1", "_ip2").alias("ip_address"))
        .drop("_ip1", "_ip2")
    )


def _calls_frame(params: TelecomParams, calls: dict) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "msisdn": _phones(params).gather(calls["who"]),
            "tower_id": calls["tower_id"],
            "call_type": pl.Series(["video", "voice"]).gather(calls["_voice"].astype(np.int64)),
            "dest_nr": calls["_dest"],
            "call_duration_sec": calls["call_duration_sec"],
            "start_time": calls["_ts"].astype("datetime64[us]"),
            "_arrival": calls["_arrival"].astype("datetime64[us]"),
            "_late": calls["_late"],
        }
    ).with_columns(pl.format("+27{}", "dest_nr").alias("dest_nr"))


def _phones(params: TelecomParams) -> pl.Series:
    """Text is gathered by polars: numpy holds strings as objects, an Object column when there are no events."""
    return accounts(params).get_column("phone_number")


def _microseconds(moment: dt.datetime) -> int:
    return int(np.datetime64(moment, "us").astype(np.int64))

"""Forex quotes: a random walk per pair, a quote about every half second.

The walk is pinned to hourly anchors (a cumulative sum of one random stream per pair) and moves between them as a
Brownian bridge drawn from the hour's own stream, so any hour can be generated alone and the path is continuous
across hours. Prices are whole ten-thousandths, so ask = bid + spread holds exactly.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from generators.core import rng_for
from generators.telecom.params import TelecomParams

HOUR = dt.timedelta(hours=1)
# pair -> (starting bid, hourly volatility of the log price, smallest and largest spread in ten-thousandths)
PAIRS = {"MRVZAR": (18.45, 0.0015, (10, 120)), "WAKMRV": (1.235, 0.0012, (2, 25))}
NAMES = sorted(PAIRS)  # quotes carry their pair's position here while sorted, which sorts as its name does
INTRA_HOUR_VOLATILITY = 0.0008
LATEST_INGEST_MS = 2_000
HOUR_US = 3_600_000_000
# text looked up rather than formatted: a time's minute and second, its millisecond, a price's four decimals
MINUTES_SECONDS = pl.Series([f"{s // 60:02d}:{s % 60:02d}." for s in range(3_600)])
MILLISECONDS = pl.Series([f"{ms:03d}" for ms in range(1_000)])
DECIMALS = pl.Series([f"{d:04d}" for d in range(10_000)])


def window_ticks(params: TelecomParams, start: dt.datetime, end: dt.datetime) -> pl.DataFrame:
    """Quotes ingested in [start, end), in ingestion order, with `_arrival`; prices as text.

    Each hour draws from its own streams, in numpy; the hours' quotes become one frame per window."""
    first = max(0, int((start - params.start) / HOUR) - 1)
    last = int((end - params.start) / HOUR)
    anchors = {pair: _anchors(params, pair, last) for pair in PAIRS}
    hours = [_hour(params, pair, h, anchors[pair]) for h in range(first, last + 1) for pair in PAIRS]
    ticks = {name: np.concatenate([hour[name] for hour in hours]) for name in hours[0]}
    arrival = ticks["_arrival"]
    inside = (arrival >= np.datetime64(start, "us")) & (arrival < np.datetime64(end, "us"))
    frame = pl.DataFrame({name: values[inside] for name, values in ticks.items()})
    return frame.sort("_arrival", "pair_name", "_ts").select(
        _stamp("_ts", ticks["_ts"]).alias("timestamp"),
        pl.lit(pl.Series(NAMES)).gather("pair_name").alias("pair_name"),
        _price("bid"),
        _price("ask"),
        _price("spread"),
        pl.col("_arrival").dt.truncate("1s").alias("ingested_at"),
        "_arrival",
        "_ts",
    )


def _anchors(params: TelecomParams, pair: str, last: int) -> np.ndarray:
    """The walk's log price at the start of each hour up to hour `last` + 1: one stream per pair, whose first
    draws are the same however far it is drawn."""
    volatility = PAIRS[pair][1]
    return np.r_[0.0, np.cumsum(rng_for(params.seed, "forex", pair, "anchors").normal(0, volatility, last + 1))]


def _hour(params: TelecomParams, pair: str, hour: int, anchors: np.ndarray) -> dict[str, np.ndarray]:
    """A pair's quotes in hour `hour`: times in microseconds, prices in ten-thousandths, `pair_name` its position
    in NAMES."""
    base, _, (narrowest, widest) = PAIRS[pair]
    rng = rng_for(params.seed, "forex", pair, hour)
    mean_gap = params.tick_seconds * 1000
    gaps = rng.integers(int(mean_gap * 0.6), int(mean_gap * 1.4) + 1, int(3_600_000 / mean_gap * 1.2))
    at_ms = np.cumsum(gaps)
    at_ms = at_ms[at_ms < 3_600_000]
    fraction = at_ms / 3_600_000
    walk = np.cumsum(rng.normal(0, INTRA_HOUR_VOLATILITY / np.sqrt(len(at_ms)), len(at_ms)))
    bridge = walk - fraction * walk[-1]
    log_price = anchors[hour] + (anchors[hour + 1] - anchors[hour]) * fraction + bridge
    bid = np.round(base * np.exp(log_price) * 10_000).astype(np.int64)
    spread = rng.integers(narrowest, widest + 1, len(at_ms))
    began = np.datetime64(params.start + hour * HOUR, "us")
    at = began + at_ms.astype("timedelta64[ms]")
    return {
        "pair_name": np.full(len(at_ms), NAMES.index(pair)),
        "bid": bid,
        "ask": bid + spread,
        "spread": spread,
        "_ts": at,
        "_arrival": at + rng.integers(20, LATEST_INGEST_MS, len(at_ms)).astype("timedelta64[ms]"),
    }


def _stamp(column: str, moments: np.ndarray) -> pl.Expr:
    """A time to the millisecond as text, e.g. 2024-01-01 23:00:00.076, put together from looked-up pieces: its
    clock hour (among those of `moments`), its minute and second, its millisecond; strftime takes twice as long."""
    hours = np.arange(moments.min(), moments.max() + np.timedelta64(1, "h"), dtype="datetime64[h]")
    first = int(hours[0].astype("datetime64[us]").astype(np.int64))
    since = pl.col(column).dt.epoch("us") - first
    return pl.concat_str(
        pl.lit(pl.Series(hours.astype("datetime64[us]")).dt.strftime("%Y-%m-%d %H:")).gather(since // HOUR_US),
        pl.lit(MINUTES_SECONDS).gather(since % HOUR_US // 1_000_000),
        pl.lit(MILLISECONDS).gather(since % 1_000_000 // 1_000),
    )


def _price(column: str) -> pl.Expr:
    """Ten-thousandths as decimal text, e.g. 184512 -> 18.4512."""
    units = pl.col(column)
    return pl.concat_str((units // 10_000).cast(pl.String), pl.lit("."), pl.lit(DECIMALS).gather(units % 10_000)).alias(
        f"{column}_price" if column != "spread" else column
    )

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
INTRA_HOUR_VOLATILITY = 0.0008
LATEST_INGEST_MS = 2_000


def window_ticks(params: TelecomParams, start: dt.datetime, end: dt.datetime) -> pl.DataFrame:
    """Quotes ingested in [start, end), in ingestion order, with `_arrival`; prices as text."""
    first = max(0, int((start - params.start) / HOUR) - 1)
    last = int((end - params.start) / HOUR)
    frames = [_hour(params, pair, h) for h in range(first, last + 1) for pair in PAIRS]
    ticks = pl.concat(frames).filter(pl.col("_arrival").is_between(pl.lit(start), pl.lit(end), closed="left"))
    return ticks.sort("_arrival", "pair_name", "_ts").select(
        pl.col("_ts").dt.strftime("%Y-%m-%d %H:%M:%S%.3f").alias("timestamp"),
        "pair_name",
        _price("bid"),
        _price("ask"),
        _price("spread"),
        pl.col("_arrival").dt.truncate("1s").alias("ingested_at"),
        "_arrival",
        "_ts",
    )


def _hour(params: TelecomParams, pair: str, hour: int) -> pl.DataFrame:
    base, volatility, (narrowest, widest) = PAIRS[pair]
    anchors = np.r_[0.0, np.cumsum(rng_for(params.seed, "forex", pair, "anchors").normal(0, volatility, hour + 1))]
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
    began = params.start + hour * HOUR
    return pl.DataFrame(
        {
            "_ms": at_ms,
            "pair_name": pair,
            "bid": bid,
            "ask": bid + spread,
            "spread": spread,
            "_ingest_ms": rng.integers(20, LATEST_INGEST_MS, len(at_ms)),
        }
    ).with_columns(
        (pl.lit(began) + pl.duration(milliseconds="_ms")).alias("_ts"),
        (pl.lit(began) + pl.duration(milliseconds=pl.col("_ms") + pl.col("_ingest_ms"))).alias("_arrival"),
    )


def _price(column: str) -> pl.Expr:
    """Ten-thousandths as decimal text, e.g. 184512 -> 18.4512."""
    units = pl.col(column)
    return ((units // 10_000).cast(pl.String) + "." + (units % 10_000).cast(pl.String).str.zfill(4)).alias(
        f"{column}_price" if column != "spread" else column
    )

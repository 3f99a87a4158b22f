"""Reference data of the meters domain: divisions, tariffs, slabs and consumer types.

The CSV files in `reference/` are the single source: the generator copies them to bronze (projected to their
contracts' columns) and reads generator-only data from them (weights, typical loads, daily profiles).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import polars as pl

from contracts.meters import silver
from contracts.schema import Table

HERE = Path(__file__).parent / "reference"


@cache
def profiles() -> tuple[list[str], np.ndarray, np.ndarray]:
    """Daily load profiles: (names, profile x hour factors scaled to a mean of 1, weekend factor per profile)."""
    table = pl.read_csv(HERE / "profiles.csv")
    hourly = table.select(f"h{h:02d}" for h in range(24)).to_numpy()
    return table["profile"].to_list(), hourly / hourly.mean(axis=1, keepdims=True), table["weekend_factor"].to_numpy()


def _read(table: Table, extra: dict[str, pl.DataType] | None = None) -> pl.DataFrame:
    schema = {c.name: c.type.polars for c in table.source_columns} | (extra or {})
    return pl.read_csv(HERE / f"{table.name}.csv", schema=schema)


@cache
def divisions() -> pl.DataFrame:
    return _read(silver.divisions)


@cache
def tariffs() -> pl.DataFrame:
    return _read(silver.tariffs)


@cache
def tariff_slabs() -> pl.DataFrame:
    return _read(silver.tariff_slabs)


@cache
def consumer_types() -> pl.DataFrame:
    """Contract columns plus the generator's: weight, daily_kwh, load range, theft rate, profile."""
    extra = {
        "weight": pl.Float64,
        "daily_kwh": pl.Float64,
        "load_kw_min": pl.Float64,
        "load_kw_max": pl.Float64,
        "theft_rate": pl.Float64,
        "profile": pl.String,
    }
    return _read(silver.consumer_types, extra)


@cache
def districts() -> pl.DataFrame:
    """District shares of meters and daily load-shedding hours in summer and winter (generator only)."""
    return pl.read_csv(HERE / "districts.csv")


REFERENCE_TABLES = {
    "divisions": divisions,
    "tariffs": tariffs,
    "tariff_slabs": tariff_slabs,
    "consumer_types": consumer_types,
}

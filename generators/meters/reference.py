"""Reference data of the meters domain: divisions, tariffs, slabs and consumer types.

The CSV files beside this module are the single source: the generator copies them to bronze (projected to
their contracts' columns) and reads generator-only columns (weights, typical loads, daily profiles) from them.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import polars as pl

from contracts.meters import silver
from contracts.schema import Table

HERE = Path(__file__).parent / "reference"

# Share of a day's energy by hour, for each load profile; each row is scaled to a mean of 1.
_PROFILES = {
    "residential": [
        0.45,
        0.4,
        0.35,
        0.35,
        0.4,
        0.55,
        0.8,
        1.0,
        0.95,
        0.8,
        0.7,
        0.7,
        0.75,
        0.75,
        0.7,
        0.7,
        0.8,
        1.1,
        2.0,
        2.3,
        2.2,
        2.0,
        1.5,
        0.9,
    ],
    "commercial": [
        0.15,
        0.15,
        0.15,
        0.15,
        0.15,
        0.15,
        0.2,
        0.4,
        0.9,
        1.5,
        1.7,
        1.8,
        1.8,
        1.7,
        1.7,
        1.7,
        1.7,
        1.7,
        1.8,
        1.9,
        1.7,
        1.2,
        0.6,
        0.3,
    ],
    "industrial": [
        0.6,
        0.6,
        0.6,
        0.6,
        0.6,
        0.6,
        0.7,
        0.9,
        1.2,
        1.25,
        1.25,
        1.25,
        1.2,
        1.25,
        1.25,
        1.25,
        1.25,
        1.2,
        1.15,
        1.1,
        1.1,
        1.1,
        1.0,
        0.8,
    ],
    "services": [
        0.2,
        0.2,
        0.2,
        0.2,
        0.2,
        0.2,
        0.3,
        0.8,
        1.8,
        2.0,
        2.0,
        2.0,
        1.9,
        1.9,
        1.8,
        1.6,
        1.2,
        0.6,
        0.4,
        0.4,
        0.3,
        0.3,
        0.2,
        0.2,
    ],
    "agricultural": [
        0.3,
        0.3,
        0.3,
        0.3,
        0.3,
        0.5,
        1.2,
        1.6,
        1.7,
        1.7,
        1.7,
        1.7,
        1.7,
        1.7,
        1.7,
        1.7,
        1.6,
        1.3,
        0.8,
        0.5,
        0.4,
        0.3,
        0.3,
        0.3,
    ],
    "lighting": [
        2.0,
        2.0,
        2.0,
        2.0,
        2.0,
        1.6,
        0.3,
        0.02,
        0.02,
        0.02,
        0.02,
        0.02,
        0.02,
        0.02,
        0.02,
        0.02,
        0.02,
        0.4,
        1.8,
        2.0,
        2.0,
        2.0,
        2.0,
        2.0,
    ],
    "flat": [
        0.95,
        0.95,
        0.95,
        0.95,
        0.95,
        0.95,
        1.0,
        1.0,
        1.05,
        1.05,
        1.05,
        1.05,
        1.05,
        1.05,
        1.05,
        1.05,
        1.05,
        1.0,
        1.0,
        1.0,
        1.0,
        0.95,
        0.95,
        0.95,
    ],
}
# Weekend energy relative to a weekday, by profile.
_WEEKEND = {
    "residential": 1.1,
    "commercial": 0.75,
    "industrial": 0.6,
    "services": 0.45,
    "agricultural": 1.0,
    "lighting": 1.0,
    "flat": 1.0,
}
PROFILE_NAMES = list(_PROFILES)


def profiles() -> tuple[np.ndarray, np.ndarray]:
    """(profile x hour factors with mean 1, weekend factor per profile), indexed like PROFILE_NAMES."""
    hourly = np.array([_PROFILES[p] for p in PROFILE_NAMES])
    return hourly / hourly.mean(axis=1, keepdims=True), np.array([_WEEKEND[p] for p in PROFILE_NAMES])


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

"""The meters themselves: who, where, what kind of connection, and the hidden traits that drive consumption.

Columns starting with `_` never reach bronze: typical daily energy, load profile, power factor, failure rate and
theft (a meter under-registering 30-90 % from some day on, likelier for commercial connections).
"""

from __future__ import annotations

import datetime as dt
from functools import cache

import numpy as np
import polars as pl
from faker import Faker

from contracts.meters import silver
from generators.core import rng_for
from generators.meters.params import MetersParams
from generators.meters.reference import consumer_types, districts, divisions, profiles

_BUSINESS_SUFFIX = {
    "commercial": ["Traders", "Enterprises", "Store", "Brothers", "& Sons", "Mart"],
    "industrial": ["Industries", "Mills", "Works", "Manufacturing", "Processing"],
    "general_services": ["Trust", "Foundation", "Welfare Society", "Institute"],
    "bulk": ["Housing Society", "Estate Office", "Campus"],
    "agricultural": ["Farms", "Agri Farm", "Tube-well"],
    "temporary": ["Construction", "Builders", "Events"],
    "public_lighting": ["Municipal Committee", "Tehsil Council"],
    "residential_colony": ["Staff Colony", "Officers Colony"],
    "traction": ["Railways Traction"],
}
# Dates drawn for meters (installation, start of theft) fall in the year from --start, whatever --end is, so that
# extending --end later adds the new months' files and leaves every file already written identical.
HORIZON_DAYS = 365
_AREAS = [
    "Mohalla Eidgah",
    "Model Town",
    "Satellite Town",
    "Gulshan Colony",
    "Officers Colony",
    "Shah Faisal Colony",
    "Main Bazaar",
    "Railway Road",
    "GT Road",
    "Civil Lines",
    "Sector G-9/2",
    "Sector F-10/1",
    "Sector I-8/3",
    "Bahria Town Phase 4",
    "DHA Phase 2",
    "Chaklala Scheme III",
    "Adiala Road",
    "College Road",
]


@cache
def meter_population(params: MetersParams) -> pl.DataFrame:
    """All meters, in meter_id order: contract columns and the hidden traits."""
    n = params.meter_count
    rng = rng_for(params.seed, "meters", "population")
    types = consumer_types()
    type_index = rng.choice(len(types), n, p=(types["weight"] / types["weight"].sum()).to_numpy())
    chosen = types[type_index]
    district_table = districts()
    district_index = rng.choice(len(district_table), n, p=district_table["meter_share"].to_numpy())
    district = district_table["district"].to_numpy()[district_index]
    division = _divisions_in(district, rng)
    load = rng.uniform(chosen["load_kw_min"].to_numpy(), chosen["load_kw_max"].to_numpy())
    load = np.maximum(np.round(load * 2) / 2, 0.5)
    typical_load = (chosen["load_kw_min"] + chosen["load_kw_max"]).to_numpy() / 2
    smart = rng.random(n) < np.where(district == "Islamabad", 0.85, 0.6)
    installed = _installation_dates(params, rng, n)
    category = chosen["category"].to_numpy()
    thief = rng.random(n) < chosen["theft_rate"].to_numpy()
    return pl.DataFrame(
        {
            "meter_id": [f"IESCO-{i + 1:06d}" for i in range(n)],
            "customer_name": _names(params.seed, category, rng),
            "address": _addresses(division, category, rng),
            "district": district,
            "division": division,
            "consumer_type_code": chosen["consumer_type_code"],
            "sanctioned_load_kw": load,
            "meter_type": np.where(smart, "smart", "conventional"),
            "phase": np.where(load > 5, "three", "single"),
            "installation_date": installed,
            "reading_interval_minutes": np.full(n, params.interval_minutes),
            "_category": category,
            "_tariff_code": chosen["tariff_code"],
            "_profile": [profiles()[0].index(p) for p in chosen["profile"]],
            "_daily_kwh": chosen["daily_kwh"].to_numpy() * rng.lognormal(0, 0.35, n) * np.sqrt(load / typical_load),
            "_power_factor": rng.uniform(0.82, 0.98, n),
            "_failure_rate": np.where(smart, 0.02, 0.06),  # chance of a failure in a month
            "_theft_from": [
                params.start + dt.timedelta(days=int(d)) if stealing else None
                for d, stealing in zip(rng.integers(0, HORIZON_DAYS, n), thief)
            ],
            "_theft_keep": np.where(thief, 1 - rng.uniform(0.3, 0.9, n), 1.0),
        },
        schema_overrides={"installation_date": pl.Date, "_theft_from": pl.Date},
    )


def _divisions_in(district: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    table = divisions()
    chosen = np.empty(len(district), dtype=object)
    for name in np.unique(district):
        options = table.filter(pl.col("district") == name)["division"].to_numpy()
        where = district == name
        chosen[where] = options[rng.integers(0, len(options), where.sum())]
    return chosen.astype(str)


def _installation_dates(params: MetersParams, rng: np.random.Generator, n: int) -> list[dt.date]:
    """Most meters predate the period; about 6 % are installed in its first year."""
    old = params.start - dt.timedelta(days=1) - dt.date(2000, 1, 1)
    new = rng.random(n) < 0.06
    offsets = np.where(new, rng.integers(0, HORIZON_DAYS, n), -rng.integers(1, old.days + 1, n))
    return [params.start + dt.timedelta(days=int(o)) for o in offsets]


def _names(seed: int, category: np.ndarray, rng: np.random.Generator) -> list[str]:
    """People for residential connections, businesses for the rest; Faker only fills small pools."""
    fake = Faker("en_PK")
    fake.seed_instance(seed)
    first = [fake.first_name() for _ in range(200)]
    last = [fake.last_name() for _ in range(200)]
    f = rng.integers(0, len(first), len(category))
    s = rng.integers(0, len(last), len(category))
    k = rng.integers(0, 6, len(category))
    names = []
    for i, cat in enumerate(category):
        suffixes = _BUSINESS_SUFFIX.get(cat)
        names.append(
            f"{first[f[i]]} {last[s[i]]}" if suffixes is None else f"{last[s[i]]} {suffixes[k[i] % len(suffixes)]}"
        )
    return names


def _addresses(division: np.ndarray, category: np.ndarray, rng: np.random.Generator) -> list[str]:
    house = rng.integers(1, 900, len(division))
    street = rng.integers(1, 40, len(division))
    area = rng.integers(0, len(_AREAS), len(division))
    kind = np.where(category == "residential", "House", "Plot")
    return [f"{kind[i]} {house[i]}, Street {street[i]}, {_AREAS[area[i]]}, {division[i]}" for i in range(len(division))]


def contract_columns(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(c.name for c in silver.meters.source_columns)

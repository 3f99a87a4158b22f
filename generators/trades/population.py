"""Clients: accounts of three types with balances, opening dates and statuses as the source generated them.

Faker only fills small pools (names, countries, addresses); clients draw from them with numpy.
"""

from __future__ import annotations

import datetime as dt
from functools import cache

import numpy as np
import polars as pl
from faker import Faker

from contracts.trades.silver import ACCOUNT_TYPES, CLIENT_STATUSES, CURRENCIES, MONEY, RISK_TOLERANCES
from generators.core import rng_for
from generators.trades.params import TradesParams

POOL = 300
TYPE_WEIGHTS = (0.6, 0.3, 0.1)
STATUS_WEIGHTS = (0.85, 0.10, 0.05)
BALANCE_CENTS = ((1_000_00, 50_000_00), (50_001_00, 200_000_00), (200_001_00, 1_000_000_00))  # by account type
DOMAINS = ("example.com", "mail.com", "inbox.org", "post.net")
CLIENT_IDS = (2_654_435_761, 12_345)  # (odd multiplier, offset) scrambling client numbers into ids
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def hex_ids(numbers: np.ndarray, scramble: tuple[int, int]) -> pl.Series:
    """8-hex-character ids of sequence numbers: an odd multiplier makes the scrambling a bijection of 32-bit
    numbers, so distinct numbers never share an id."""
    multiplier, offset = (np.uint64(v) for v in scramble)
    scrambled = (numbers.astype(np.uint64) * multiplier + offset) % np.uint64(2**32)
    nibbles = (scrambled[:, None] >> np.arange(28, -1, -4, dtype=np.uint64)) & np.uint64(15)
    return pl.Series(_HEX[nibbles].view("S8").ravel()).cast(pl.String)


@cache
def clients(params: TradesParams) -> pl.DataFrame:
    """One row per client, in the source's columns, plus `_activity`: how often the client trades (relative)."""
    n = params.client_count
    rng = rng_for(params.seed, "trades", "clients")
    fake = Faker("en_US")
    fake.seed_instance(params.seed)
    names = np.array([fake.name() for _ in range(POOL)])
    countries = np.array([fake.country() for _ in range(POOL // 5)])
    addresses = np.array([fake.address().replace("\n", ", ") for _ in range(POOL)])
    kind = rng.choice(len(ACCOUNT_TYPES), n, p=TYPE_WEIGHTS)
    low, high = np.array(BALANCE_CENTS).T
    born = np.datetime64(params.start, "D") - rng.integers(19 * 365, 75 * 365, n).astype("timedelta64[D]")
    name = names[rng.integers(0, POOL, n)]
    frame = pl.DataFrame(
        {
            "client_id": hex_ids(np.arange(n), CLIENT_IDS),
            "name": name,
            "_local": pl.Series(name).str.to_lowercase().str.replace_all(r"[^a-z]+", ".").str.strip_chars("."),
            "_number": rng.integers(1, 1000, n),
            "_domain": np.array(DOMAINS)[rng.integers(0, len(DOMAINS), n)],
            "date_of_birth": born,
            "country": countries[rng.integers(0, len(countries), n)],
            "account_type": np.array(ACCOUNT_TYPES)[kind],
            "_cents": rng.integers(low[kind], high[kind] + 1),
            "_open": rng.random(n),
            "status": np.array(CLIENT_STATUSES)[rng.choice(len(CLIENT_STATUSES), n, p=STATUS_WEIGHTS)],
            "_phone": rng.integers(200_000_0000, 999_999_9999, n).astype(str),
            "address": addresses[rng.integers(0, POOL, n)],
            "risk_tolerance": np.array(RISK_TOLERANCES)[kind],  # standard: low, premium: medium, corporate: high
            "account_currency": np.array(CURRENCIES)[rng.integers(0, len(CURRENCIES), n)],
            "_activity": rng.lognormal(0, 0.6, n),
        }
    )
    adult = pl.col("date_of_birth").dt.offset_by("18y").dt.offset_by("1d")
    earliest = pl.max_horizontal(adult, pl.lit(params.start - dt.timedelta(days=15 * 365)))
    latest = pl.lit(params.start + (params.end - params.start) / 2)
    opened = earliest + ((latest - earliest).dt.total_days() * pl.col("_open")).cast(pl.Int64) * pl.duration(days=1)
    return frame.with_columns(
        pl.concat_str("_local", pl.lit("."), pl.col("_number").cast(pl.String), pl.lit("@"), "_domain").alias("email"),
        (pl.col("_cents").cast(pl.Decimal(38, 2)) / 100).cast(MONEY.polars).alias("account_balance"),
        pl.max_horizontal(opened, adult).alias("account_open_date"),
        pl.concat_str(pl.lit("+1"), *[pl.col("_phone").str.slice(a, b - a) for a, b in ((0, 3), (3, 6), (6, 10))],
                      separator="-").alias("phone_number"),
    ).select(
        "client_id", "name", "email", "date_of_birth", "country", "account_type", "account_balance",
        "account_open_date", "status", "phone_number", "address", "risk_tolerance", "account_currency", "_activity",
    )  # fmt: skip

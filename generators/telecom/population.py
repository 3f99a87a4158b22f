"""Subscribers: CRM accounts with an address and devices, a home tower and the towers near it.

Faker (zu_ZA) only fills small pools of names and streets; accounts draw from the pools with numpy.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import polars as pl
from faker import Faker

from generators.core import rng_for
from generators.telecom.params import TelecomParams

# (city, province, postal code)
CITIES = (
    ("Johannesburg", "Gauteng", "2001"),
    ("Pretoria", "Gauteng", "0002"),
    ("Soweto", "Gauteng", "1804"),
    ("Cape Town", "Western Cape", "8001"),
    ("Stellenbosch", "Western Cape", "7600"),
    ("Durban", "KwaZulu-Natal", "4001"),
    ("Pietermaritzburg", "KwaZulu-Natal", "3201"),
    ("Gqeberha", "Eastern Cape", "6001"),
    ("East London", "Eastern Cape", "5201"),
    ("Bloemfontein", "Free State", "9301"),
    ("Polokwane", "Limpopo", "0700"),
    ("Mbombela", "Mpumalanga", "1200"),
    ("Rustenburg", "North West", "0300"),
    ("Kimberley", "Northern Cape", "8301"),
)
DEVICES = (
    ("iPhone 14", "smartphone", "iOS 17"),
    ("iPhone 15", "smartphone", "iOS 18"),
    ("Galaxy A54", "smartphone", "Android 14"),
    ("Galaxy S24", "smartphone", "Android 14"),
    ("Redmi Note 13", "smartphone", "Android 13"),
    ("Nokia 105", "feature_phone", "Series 30+"),
    ("Galaxy Tab A9", "tablet", "Android 14"),
    ("iPad 10", "tablet", "iPadOS 17"),
    ("Huawei B535", "router", "LiteOS"),
)
POOL = 300


@cache
def accounts(params: TelecomParams) -> pl.DataFrame:
    """One row per subscriber: account, contact, address and home tower (account_id = position + 1)."""
    n = params.subscriber_count
    rng = rng_for(params.seed, "telecom", "population")
    fake = Faker("zu_ZA")
    fake.seed_instance(params.seed)
    firsts = np.array([fake.first_name() for _ in range(POOL)])
    lasts = np.array([fake.last_name() for _ in range(POOL)])
    streets = np.array([fake.street_name() for _ in range(POOL)])
    first, last = firsts[rng.integers(0, POOL, n)], lasts[rng.integers(0, POOL, n)]
    city = rng.integers(0, len(CITIES), n)
    ids = np.arange(1, n + 1)
    frame = pl.DataFrame(
        {
            "account_id": ids,
            "owner_name": np.char.add(np.char.add(first, " "), last),
            "email": np.char.add(
                np.char.add(np.char.lower(np.char.add(np.char.add(first, "."), last)), ids.astype(str)),
                "@example.co.za",
            ),
            # mobile numbers: +27 6x, 7x, 8x and seven more digits, all different
            "phone_number": np.char.add("+27", (600_000_000 + rng.choice(250_000_000, n, replace=False)).astype(str)),
            "street_address": np.char.add(
                np.char.add(rng.integers(1, 400, n).astype(str), " "), streets[rng.integers(0, POOL, n)]
            ),
            "city": np.array([c[0] for c in CITIES])[city],
            "state": np.array([c[1] for c in CITIES])[city],
            "postal_code": np.array([c[2] for c in CITIES])[city],
            "country": "South Africa",
            "home_tower": rng.integers(1, params.tower_count + 1, n),
        }
    )
    return frame.with_columns(pl.col("email").str.replace_all(r"[^a-z0-9.@-]", ""))


@cache
def devices(params: TelecomParams) -> pl.DataFrame:
    """One to three devices per account, numbered in registration order."""
    n = params.subscriber_count
    rng = rng_for(params.seed, "telecom", "devices")
    per_account = rng.choice([1, 2, 3], n, p=[0.6, 0.3, 0.1])
    owner = np.repeat(np.arange(1, n + 1), per_account)
    model = rng.integers(0, len(DEVICES), len(owner))
    return pl.DataFrame(
        {
            "account_id": owner,
            "device_id": np.arange(1, len(owner) + 1),
            "device_name": np.array([d[0] for d in DEVICES])[model],
            "device_type": np.array([d[1] for d in DEVICES])[model],
            "device_os": np.array([d[2] for d in DEVICES])[model],
        }
    )

"""Monthly bills from the readings the utility accepted, and the payments customers made against them.

Charges come from the same SQL macro gold uses to verify bills (`gold/macros/meters.sql`), so a bill and its
verification can only disagree through the data: an injected billing error, a reading lost on the way, or a
tampered file. Bills are issued on the 5th of the following month and fall due 15 days later.
"""

from __future__ import annotations

import datetime as dt
import threading
from functools import cache

import duckdb
import numpy as np
import polars as pl

from generators.core import pick, rng_for
from generators.dirt import MALFORMED_COLUMNS, MALFORMED_NUMBER, has, tag, untagged
from generators.meters.params import MetersParams
from generators.meters.reference import tariff_slabs, tariffs
from gold.models import macros_sql

METHODS = ("online", "bank", "cash", "mobile_app")
METHOD_WEIGHTS = (0.3, 0.3, 0.2, 0.2)


_ENGINE_LOCK = threading.Lock()


def _tariff_engine() -> duckdb.DuckDBPyConnection:
    """The bill macros over the reference tariffs, built once, by the first task that asks. Tasks run side by side in
    threads, and two building it at once exported the same cached reference frames to DuckDB together: once, at
    scale 100, that hung `generate` for good, both threads waiting inside polars (one exporting a frame, the other
    reading its schema)."""
    with _ENGINE_LOCK:
        return _built_tariff_engine()


@cache
def _built_tariff_engine() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("create schema silver_meters")
    for name, frame in (("tariffs", tariffs()), ("tariff_slabs", tariff_slabs())):
        con.register(f"_{name}", frame)
        con.execute(f"create table silver_meters.{name} as select * from _{name}")
    con.execute(macros_sql("meters"))
    return con


def charges(units: pl.DataFrame) -> pl.DataFrame:
    """Bill charges for rows with tariff_code and units_kwh (other columns kept)."""
    with _tariff_engine().cursor() as con:  # a connection of its own: tasks may run side by side in threads
        con.register("billed_units", units)
        return con.sql("select * from bill_charges('billed_units')").pl()


def bills_for(
    params: MetersParams, meters: pl.DataFrame, billable: pl.DataFrame, month: dt.date, block: int
) -> pl.DataFrame:
    """One bill per meter with accepted readings in the month, some with an injected billing error."""
    rng = rng_for(params.seed, "bills", month.isoformat(), block)
    units = (
        billable.group_by("meter_id")
        .agg(((pl.col("wh").sum() + 500) // 1000).alias("units_kwh"))
        .join(meters.select("meter_id", pl.col("_tariff_code").alias("tariff_code")), on="meter_id")
        .sort("meter_id")
    )
    units = untagged(units)
    error = pick(rng, len(units), params.dirt.bill_error)
    overstated = error & (rng.random(len(units)) < 0.5)
    wrong_tariff = error & ~overstated
    other_tariff = pl.Series(rng.choice(tariffs()["tariff_code"].to_numpy(), len(units)))
    extra_units = pl.Series(rng.integers(5, 60, len(units)))
    wrong_tariff &= (other_tariff != units["tariff_code"]).to_numpy()
    units = units.with_columns(
        pl.when(pl.lit(pl.Series(overstated)))
        .then(pl.col("units_kwh") + pl.lit(extra_units))
        .otherwise(pl.col("units_kwh"))
        .alias("units_kwh"),
        pl.when(pl.lit(pl.Series(wrong_tariff)))
        .then(pl.lit(other_tariff))
        .otherwise(pl.col("tariff_code"))
        .alias("tariff_code"),
    )
    units = tag(units, overstated, "bill_error", pl.lit("units overstated"))
    units = tag(units, wrong_tariff, "bill_error", pl.lit("billed under tariff ") + pl.lit(other_tariff))
    issue = (month + dt.timedelta(days=32)).replace(day=5)
    billed = charges(units.with_columns(pl.col("units_kwh").cast(pl.Int64)))
    return billed.select(
        (pl.lit(f"BILL-{month:%Y%m}-") + pl.col("meter_id").str.split("-").list.last()).alias("bill_id"),
        "meter_id",
        pl.lit(month).alias("billing_month"),
        "units_kwh",
        "energy_charge",
        "fixed_charge",
        "gst",
        "electricity_duty",
        "tv_fee",
        "total_amount",
        pl.lit(issue).alias("issue_date"),
        pl.lit(issue + dt.timedelta(days=15)).alias("due_date"),
        "_detail",
        pl.col(r"^_is_.*$"),
    ).sort("bill_id")


def payments_for(params: MetersParams, bills: pl.DataFrame, month: dt.date, block: int) -> pl.DataFrame:
    """On time, late, partial or unpaid; large bills go unpaid more often."""
    rng = rng_for(params.seed, "payments", month.isoformat(), block)
    n = len(bills)
    total = bills["total_amount"].cast(pl.Float64).to_numpy()
    unpaid_chance = 0.06 + 0.14 / (1 + np.exp(-(total - 15000) / 5000))
    draw = rng.random(n)
    unpaid = draw < unpaid_chance
    partial = ~unpaid & (draw < unpaid_chance + 0.07)
    late = ~unpaid & ~partial & (draw < unpaid_chance + 0.25)
    days_after_issue = np.where(late, 15 + rng.integers(1, 46, n), rng.integers(0, 16, n))
    days_after_issue = np.where(partial, rng.integers(0, 41, n), days_after_issue)
    paid = np.where(partial, np.floor(total * rng.uniform(0.3, 0.9, n) / 10) * 10, total)
    paid = np.maximum(paid, 10.0)
    chosen = ~unpaid
    payments = bills.filter(pl.Series(chosen)).select(
        (pl.lit(f"PAY-{month:%Y%m}-") + pl.col("meter_id").str.split("-").list.last()).alias("payment_id"),
        "bill_id",
        (pl.col("issue_date") + pl.Series(days_after_issue[chosen]).cast(pl.Duration("ms")) * 86_400_000)
        .dt.date()
        .alias("payment_date"),
        pl.Series(np.round(paid[chosen], 2)).cast(pl.Decimal(14, 2)).alias("amount_paid"),
        pl.Series(rng.choice(METHODS, n, p=METHOD_WEIGHTS)[chosen]).alias("method"),
    )
    # a payment against a bill whose line was broken in transit has no bill to point to in the lake
    broken = bills.filter(has(bills, MALFORMED_NUMBER) | has(bills, MALFORMED_COLUMNS))["bill_id"]
    return tag(
        untagged(payments), payments["bill_id"].is_in(broken.implode()), "orphan", pl.lit("its bill was malformed")
    )

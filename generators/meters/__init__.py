"""The smart-meter billing generator (IESCO): meters, hourly readings, monthly bills and payments.

Work is split into tasks of one block of meters (`block_size`) by one month; each task writes its own readings,
bills and payments files, so output does not depend on the number of workers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import polars as pl

from contracts.meters import silver
from core.lake import Lake
from generators.core import TableFile, concat_ledgers, count_file, pick, remember_parameters, rng_for
from generators.dirt import (
    DUPLICATE,
    MALFORMED_COLUMNS,
    MALFORMED_NUMBER,
    choose_malformed,
    clean_file,
    duplicate,
    has,
    insert_copies,
    render,
    tag,
    untagged,
)
from generators.meters.billing import bills_for, payments_for
from generators.meters.params import MetersDirt, MetersParams
from generators.meters.population import meter_population
from generators.meters.readings import block_readings
from generators.meters.reference import REFERENCE_TABLES
from generators.tasks import run_tasks

__all__ = ["MetersDirt", "MetersParams", "generate"]


@dataclass(frozen=True)
class _Task:
    root: str
    params: MetersParams
    block: int
    month: dt.date


def generate(lake: Lake, params: MetersParams, workers: int) -> dict[str, dict[str, int]]:
    """Write the meters domain's bronze files; returns, per table, files written, files already present and rows
    written. A (block, month) whose files exist is not generated again: --end may grow between runs."""
    remember_parameters(lake, "meters", asdict(params), extendable={"end"})
    totals: dict[str, dict[str, int]] = {}
    for file in [*_reference_files(), _meters_file(params)]:
        count_file(totals, file.table.name, *file.write(lake))
    tasks = [_Task(str(lake.root), params, b, m) for m in params.months() for b in range(len(params.blocks()))]
    done = {task for task in tasks if all(path.exists() for path in _task_files(lake, task))}
    for path in (path for task in done for path in _task_files(lake, task)):
        count_file(totals, path.parent.name, False, 0)
    todo = [task for task in tasks if task not in done]
    for counts in run_tasks(_block_month, todo, workers, desc="generate meters"):
        for table, (written, rows) in counts.items():
            count_file(totals, table, written, rows)
    return totals


def _task_files(lake: Lake, task: _Task) -> list[Path]:
    suffix = _suffix(task)
    return [lake.bronze_dir("meters", table) / f"{table}_{suffix}" for table in ("readings", "bills", "payments")]


def _suffix(task: _Task) -> str:
    return f"{task.month:%Y-%m}_b{task.block:04d}.csv"


def _reference_files() -> list[TableFile]:
    return [clean_file(getattr(silver, name), load(), seed=0) for name, load in REFERENCE_TABLES.items()]


def _meters_file(params: MetersParams) -> TableFile:
    """All meters in one file, with some codes spelled loosely and a few rows sent twice."""
    rng = rng_for(params.seed, "meters", "feed")
    meters = untagged(meter_population(params).select(c.name for c in silver.meters.source_columns))
    variant = pick(rng, len(meters), params.dirt.meter_code_variant)
    loose = pl.lit(pl.Series(variant))
    meters = tag(meters, variant, "code_variant").with_columns(
        pl.when(loose).then(pl.col("district").str.to_lowercase() + " ").otherwise(pl.col("district")),
        pl.when(loose)
        .then(pl.col("consumer_type_code").str.replace("-", "").str.to_lowercase())
        .otherwise(pl.col("consumer_type_code")),
        pl.when(loose).then(pl.col("meter_type").str.to_uppercase()).otherwise(pl.col("meter_type")),
    )
    meters = duplicate(meters, rng, params.dirt.meter_duplicate, pl.col("meter_id"))
    return render(meters, silver.meters, rng, [], "meters.csv")


def _block_month(task: _Task) -> dict[str, tuple[bool, int]]:
    params, lake = task.params, Lake(Path(task.root))
    block = params.blocks()[task.block]
    meters = meter_population(params)[block.start : block.stop]
    readings = block_readings(params, meters, task.month, task.block)
    readings, missing = _feed_defects(params, readings, task)
    unbilled = [has(readings, k) for k in ("negative", MALFORMED_NUMBER, MALFORMED_COLUMNS, "orphan", DUPLICATE)]
    billable = readings.filter(~pl.any_horizontal(unbilled))
    bills = _bill_defects(params, bills_for(params, meters, billable, task.month, task.block), task)
    payments = payments_for(params, bills, task.month, task.block)
    suffix = _suffix(task)
    files = [
        _readings_file(params, readings, missing, task, f"readings_{suffix}"),
        _bills_file(params, bills, task, f"bills_{suffix}"),
        _payments_file(params, payments, task, f"payments_{suffix}"),
    ]
    return {file.table.name: file.write(lake) for file in files}


def _feed_defects(params: MetersParams, readings: pl.DataFrame, task: _Task) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Readings lost, negated, broken, sent twice, or sent for meters that do not exist."""
    rng = rng_for(params.seed, "readings-feed", task.month.isoformat(), task.block)
    dirt = params.dirt
    lost = pick(rng, len(readings), dirt.missing)
    key = pl.col("meter_id") + " " + pl.col("reading_ts").dt.strftime("%Y-%m-%d %H:%M:%S")
    missing = readings.filter(pl.Series(lost)).select(
        pl.lit(None, pl.String).alias("file"),
        pl.lit(None, pl.Int64).alias("line"),
        pl.lit("missing").alias("kind"),
        key.alias("detail"),
    )
    readings = readings.filter(~pl.Series(lost))
    negative = pick(rng, len(readings), dirt.negative) & (readings["wh"].to_numpy() > 0)
    readings = tag(readings, negative, "negative").with_columns(
        pl.when(pl.lit(pl.Series(negative))).then(-pl.col("wh")).otherwise(pl.col("wh")).alias("wh")
    )
    readings = choose_malformed(readings, rng, dirt.malformed, numeric=True)
    unknown_meter = pl.format("IESCO-9{}", pl.col("meter_id").str.slice(-5)).alias("meter_id")
    orphan = pick(rng, len(readings), dirt.orphan)
    readings = insert_copies(readings, orphan, "orphan", pl.lit("meter_id not in meters"), [unknown_meter])
    readings = duplicate(readings, rng, dirt.duplicate, key)
    return readings, missing


def _readings_file(
    params: MetersParams, readings: pl.DataFrame, missing: pl.DataFrame, task: _Task, name: str
) -> TableFile:
    rng = rng_for(params.seed, "readings-render", task.month.isoformat(), task.block)
    readings = readings.with_columns((pl.col("wh").cast(pl.Decimal(15, 3)) / 1000).alias("kwh"))
    file = render(readings, silver.readings, rng, ["kwh", "voltage", "current_a"], name)
    return replace(file, ledger=concat_ledgers([file.ledger, missing]))


def _bill_defects(params: MetersParams, bills: pl.DataFrame, task: _Task) -> pl.DataFrame:
    rng = rng_for(params.seed, "bills-feed", task.month.isoformat(), task.block)
    return choose_malformed(bills, rng, params.dirt.bill_malformed, numeric=True)


def _bills_file(params: MetersParams, bills: pl.DataFrame, task: _Task, name: str) -> TableFile:
    rng = rng_for(params.seed, "bills-render", task.month.isoformat(), task.block)
    bills = duplicate(bills, rng, params.dirt.bill_duplicate, pl.col("bill_id"))
    return render(bills, silver.bills, rng, ["units_kwh", "total_amount"], name)


def _payments_file(params: MetersParams, payments: pl.DataFrame, task: _Task, name: str) -> TableFile:
    rng = rng_for(params.seed, "payments-feed", task.month.isoformat(), task.block)
    orphan = pick(rng, len(payments), params.dirt.payment_orphan)
    payments = tag(payments, orphan, "orphan", pl.lit("bill_id not in bills")).with_columns(
        pl.when(pl.lit(pl.Series(orphan))).then(pl.col("bill_id") + "X").otherwise(pl.col("bill_id"))
    )
    payments = choose_malformed(payments, rng, params.dirt.payment_malformed, numeric=True)
    payments = duplicate(payments, rng, params.dirt.payment_duplicate, pl.col("payment_id"))
    return render(payments, silver.payments, rng, ["amount_paid"], name)

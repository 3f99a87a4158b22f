"""The meters generator: deterministic, realistic, and honest about the dirt it injects."""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest

from core.errors import LakehouseError
from core.lake import Lake
from generators.meters import MetersDirt, MetersParams, billing, generate
from generators.meters.billing import charges
from tests.conftest import SMALL, ledger, quarantine, run_lake, silver


def digests(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*.csv"))
        if p.relative_to(root).parts[0] in ("bronze", "_ledger")
    }


def test_same_seed_gives_identical_bronze_for_any_number_of_workers(generated: Path, tmp_path: Path) -> None:
    two = Lake(tmp_path / "two")
    generate(two, SMALL, workers=2)
    assert digests(two.root) == digests(generated)
    other = Lake(tmp_path / "other")
    generate(other, replace(SMALL, seed=8), workers=1)
    bronze = {k: v for k, v in digests(other.root).items() if k.startswith("bronze/")}
    assert bronze.keys() == {k for k in digests(generated) if k.startswith("bronze/")}
    assert bronze != {k: v for k, v in digests(generated).items() if k.startswith("bronze/")}


def test_bronze_is_never_overwritten_and_can_be_extended(lake_copy: Lake, generated: Path, tmp_path: Path) -> None:
    totals = generate(lake_copy, SMALL, workers=1)
    assert all(t["written"] == 0 and t["present"] > 0 for t in totals.values())
    with pytest.raises(LakehouseError, match="generated with other parameters .seed 7 -> 8."):
        generate(lake_copy, replace(SMALL, seed=8), workers=1)
    generate(lake_copy, replace(SMALL, end=dt.date(2024, 4, 30)), workers=1)
    before, after = digests(generated), digests(lake_copy.root)
    assert {k: after[k] for k in before} == before
    added = sorted(k for k in after.keys() - before.keys() if k.startswith("bronze/"))
    assert added and all("2024-04" in k for k in added)
    whole = Lake(tmp_path / "whole")
    generate(whole, replace(SMALL, end=dt.date(2024, 4, 30)), workers=1)
    assert digests(whole.root) == after


def test_silver_catches_exactly_what_the_ledger_says_was_injected(lake_copy: Lake) -> None:
    run_lake(lake_copy)
    for table in ("readings", "bills", "payments", "meters"):
        injected = ledger(lake_copy, table).filter(pl.col("line").is_not_null())
        rejected = quarantine(lake_copy, table).select(
            pl.col("_source_file").alias("file"), pl.col("_source_line").alias("line"), "disposition"
        )
        feed = injected.filter(pl.col("kind").str.contains("negative|malformed|orphan|duplicate"))
        caught = feed.join(rejected, on=["file", "line"], how="left")
        assert caught["disposition"].null_count() == 0, (table, caught.filter(pl.col("disposition").is_null()))
        duplicates = caught.filter(pl.col("kind") == "duplicate")
        assert (duplicates["disposition"] == "duplicate").all()
        assert (caught.filter(pl.col("kind") != "duplicate")["disposition"] == "invalid").all()
        unexplained = rejected.join(feed, on=["file", "line"], how="anti")
        assert unexplained.is_empty(), (table, unexplained)


def test_true_anomalies_are_kept_and_flagged(lake_copy: Lake) -> None:
    run_lake(lake_copy)
    readings = silver(lake_copy, "readings").select(
        pl.col("_source_file").alias("file"), pl.col("_source_line").alias("line"), "anomaly_reason"
    )
    injected = ledger(lake_copy, "readings")
    tagged = readings.join(injected, on=["file", "line"], how="left").with_columns(pl.col("kind").fill_null(""))
    for kind in ("voltage_sag", "frequency_fault", "zero", "spike"):
        was = tagged["kind"].str.contains(kind)
        flagged = tagged["anomaly_reason"].fill_null("").str.contains(kind)
        caught, false_alarms = (was & flagged).sum(), (~was & flagged).sum()
        assert was.sum() > 0, kind
        if kind == "spike":  # judged against nearby days, so a statistical detector
            assert caught >= 0.95 * was.sum() and false_alarms <= 0.2 * flagged.sum(), (caught, false_alarms)
        else:  # fixed thresholds: exact
            assert caught == was.sum() and false_alarms == 0, (kind, caught, false_alarms)


def test_bills_follow_the_slab_tariff_and_calendar(lake_copy: Lake) -> None:
    # 250 units on A-1: 100 x 5.79 + 100 x 8.11 + 50 x 10.20 = 1900.00; GST 18 % of (1900 + 75); duty 1.5 %
    bill = charges(pl.DataFrame({"tariff_code": ["A-1"], "units_kwh": [250]})).row(0, named=True)
    assert [str(bill[k]) for k in ("energy_charge", "fixed_charge", "gst", "electricity_duty", "tv_fee")] == [
        "1900.00",
        "75.00",
        "355.50",
        "28.50",
        "35.00",
    ]
    assert str(bill["total_amount"]) == "2394.00"
    run_lake(lake_copy)
    bills = silver(lake_copy, "bills")
    following = bills["billing_month"].dt.offset_by("1mo")
    assert (bills["issue_date"] == following.dt.offset_by("4d")).all()
    assert (bills["due_date"] - bills["issue_date"] == dt.timedelta(days=15)).all()


def test_consumption_has_an_evening_peak_and_seasons(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "year")
    generate(lake, MetersParams(meters=30, seed=3, dirt=MetersDirt.parse(None, clean=True)), workers=1)
    frames = [
        pl.read_csv(p, schema_overrides={"kwh": pl.Float64})
        for p in lake.bronze_dir("meters", "readings").glob("*.csv")
    ]
    readings = pl.concat(frames).with_columns(pl.col("reading_ts").str.to_datetime())
    by_hour = readings.group_by(pl.col("reading_ts").dt.hour().alias("h")).agg(pl.col("kwh").mean())
    mean = dict(by_hour.iter_rows())
    assert min(mean[h] for h in range(18, 22)) > 1.3 * max(mean[h] for h in range(1, 5))
    by_month = dict(readings.group_by(pl.col("reading_ts").dt.month().alias("m")).agg(pl.col("kwh").mean()).iter_rows())
    assert by_month[7] > 1.2 * by_month[1]
    voltage = readings["voltage"]
    assert 228 < voltage.median() < 232


def test_tasks_side_by_side_build_the_tariff_engine_once() -> None:
    """Two tasks asking at once get the one engine, the second waiting for the first to build it (two builds at
    once, in threads, exported the same polars frames together and once hung `generate`)."""
    billing._built_tariff_engine.cache_clear()
    ready = threading.Barrier(2)

    def engine(_: int) -> object:
        ready.wait()
        return billing._tariff_engine()

    with ThreadPoolExecutor(2) as pool:
        first, second = pool.map(engine, range(2))
    assert first is second

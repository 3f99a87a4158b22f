"""Payments: daily Hive-style bronze, the seed's cleaning and enrichment, the star schema and its KPIs."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import LakehouseError
from core.lake import Lake
from generators.payments import PaymentsDirt, PaymentsParams, day_transactions, generate
from generators.payments.rhythm import Rhythm, festival_dates, festivals
from pipelines.run import RunOptions, run
from tests.conftest import (
    SMALL_PAYMENTS,
    arrivals,
    assert_same,
    deliver,
    gold,
    ledger,
    quarantine,
    run_payments,
    silver,
    snapshot,
    write_bronze,
)
from tests.test_generator import digests


def test_a_day_is_the_same_alone_in_a_range_or_with_more_workers(payments_lake: Lake, tmp_path: Path) -> None:
    alone = Lake(tmp_path / "alone")
    generate(alone, replace(SMALL_PAYMENTS, start=dt.date(2024, 1, 4), end=dt.date(2024, 1, 4)), workers=1)
    day = "bronze/payments/transactions/date=2024-01-04/transactions.csv"
    assert digests(alone.root)[day] == digests(payments_lake.root)[day]
    two = Lake(tmp_path / "two")
    generate(two, SMALL_PAYMENTS, workers=2)
    assert {k: v for k, v in digests(two.root).items()} == {
        k: v for k, v in digests(payments_lake.root).items() if k.startswith(("bronze/", "_ledger/"))
    }


NEUTRAL = Rhythm(weekend=1, season=0, growth=0, festivals=0)


def days(first: str, last: str) -> np.ndarray:
    """Every day from first to last, inclusive."""
    return np.arange(first, np.datetime64(last) + 1, dtype="datetime64[D]")


def volumes(first: str, last: str, **rhythm: float) -> pl.DataFrame:
    """Transactions a day for 700 a day on average, with these rhythm parameters and the others neutral."""
    params = PaymentsParams(per_day=700, rhythm=replace(NEUTRAL, **rhythm))
    every = days(first, last)
    return pl.DataFrame({"day": every, "n": params.volumes(every)}).with_columns(
        weekend=pl.col("day").dt.weekday() >= 6, week=pl.col("day").dt.truncate("1w")
    )


def test_with_every_rhythm_neutral_every_day_has_per_day() -> None:
    assert set(volumes("2023-01-01", "2026-12-31")["n"]) == {700}


def test_weekends_have_the_weekend_factor_of_a_weekday() -> None:
    year = volumes("2024-01-01", "2024-12-31", weekend=0.5)
    (weekday,), (weekend,) = set(year.filter(~pl.col("weekend"))["n"]), set(year.filter(pl.col("weekend"))["n"])
    assert weekend / weekday == pytest.approx(0.5, abs=1 / weekday)
    assert year["n"].mean() == pytest.approx(700, abs=0.5)


def test_the_season_peaks_in_november_and_ebbs_in_may() -> None:
    year = volumes("2024-01-01", "2024-12-31", season=0.2)
    peak, trough = year.filter(pl.col("n") == pl.col("n").max()), year.filter(pl.col("n") == pl.col("n").min())
    assert dt.date(2024, 11, 15) in peak["day"] and dt.date(2024, 5, 16) in trough["day"]
    assert peak["n"][0] / trough["n"][0] == pytest.approx(1.2 / 0.8, rel=0.01)
    assert year["n"].mean() == pytest.approx(700, abs=0.5)


def test_volume_grows_by_the_yearly_growth() -> None:
    years = volumes("2024-01-01", "2026-12-31", growth=0.3)
    assert years["n"].is_sorted() and years["n"][0] < years["n"][-1]
    mean = years.group_by(pl.col("day").dt.year().alias("year")).agg(pl.col("n").mean()).sort("year")["n"]
    assert mean[0] == pytest.approx(700, abs=0.5)  # the base year's mean is --per-day
    assert (mean[1] / mean[0], mean[2] / mean[1]) == pytest.approx((1.3, 1.3), rel=0.005)


def test_festival_days_peak_after_their_build_up() -> None:
    year = volumes("2024-01-01", "2024-12-31", festivals=1)
    ordinary = year["n"].mode().item()
    table = festival_dates().filter(pl.col("date").dt.year() == 2024).join(festivals(), on="festival")
    assert table["festival"].sort().to_list() == ["Diwali", "Dussehra", "Holi", "Raksha Bandhan"]
    by_day = dict(year.select("day", "n").iter_rows())
    for festival, day, lift, build_up in table.select("festival", "date", "lift", "build_up_days").iter_rows():
        run_up = [by_day[day - dt.timedelta(days=k)] for k in range(build_up + 1, -2, -1)]
        assert run_up[0] == ordinary and run_up[-1] == ordinary, festival  # back to normal the day after
        assert run_up[1:-1] == sorted(run_up[1:-1]) and run_up[-2] > run_up[-3], festival  # rising to the day
        assert run_up[-2] == pytest.approx(ordinary * (1 + lift), abs=1), festival
    assert year.row(year["n"].arg_max(), named=True)["day"] == dt.date(2024, 11, 1)  # Diwali, twice a day
    assert year["n"].mean() == pytest.approx(700, abs=0.5)


@pytest.mark.parametrize(
    "rhythm, message",
    [
        (dict(weekend=0), "--weekend 0"),
        (dict(season=1), "--season 1"),
        (dict(growth=-1), "--growth -1"),
        (dict(festivals=-0.5), "--festivals -0.5"),
    ],
)
def test_rhythm_parameters_out_of_range_are_refused(rhythm: dict, message: str) -> None:
    with pytest.raises(LakehouseError, match=message):
        Rhythm(**rhythm)


def test_years_without_festival_dates_need_festivals_off() -> None:
    later = dict(start=dt.date(2040, 1, 1), end=dt.date(2040, 1, 31))
    with pytest.raises(LakehouseError, match="no festival dates for 2040 .* --festivals 0"):
        PaymentsParams(**later)
    assert PaymentsParams(**later, rhythm=Rhythm(festivals=0)).volumes(days("2040-01-01", "2040-01-31")).min() > 0


def test_a_year_of_bronze_follows_the_rhythm(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "year")
    params = PaymentsParams(per_day=60, customers=20, seed=3, dirt=PaymentsDirt.parse(None, clean=True))
    generate(lake, params, workers=2)
    pattern = lake.bronze_dir("payments", "transactions") / "*" / "*.csv"
    counts = duckdb.sql(
        f"select date as day, count(*) as n from read_csv('{pattern}', hive_partitioning = true) group by all"
    ).pl().sort("day")  # fmt: skip
    assert counts["n"].to_list() == params.volumes(counts["day"].to_numpy()).tolist()
    assert counts["n"].mean() == pytest.approx(60, abs=0.5)  # --per-day: the mean over the base year, 2024
    weekly = counts.group_by(weekend=pl.col("day").dt.weekday() >= 6).agg(pl.col("n").mean())
    ratio = dict(weekly.iter_rows())
    assert ratio[True] / ratio[False] == pytest.approx(0.75, rel=0.05)
    monthly = counts.group_by(pl.col("day").dt.month().alias("month")).agg(pl.col("n").mean()).sort("month")["n"]
    assert monthly.arg_max() == 9 and monthly.arg_min() == 4  # October (Dussehra, Diwali's run-up), May
    assert monthly[11] > monthly[0]  # growth
    assert counts.row(counts["n"].arg_max(), named=True)["day"] == dt.date(2024, 11, 1)
    day = day_transactions(params, dt.date(2024, 11, 1))
    assert len(day) == counts.filter(pl.col("day") == dt.date(2024, 11, 1))["n"].item()


def test_bronze_is_hive_partitioned_by_date(payments_lake: Lake) -> None:
    pattern = str(payments_lake.bronze_dir("payments", "transactions") / "*" / "*.csv")
    days = duckdb.sql(f"select distinct date from read_csv('{pattern}', hive_partitioning = true) order by 1")
    assert [str(d) for (d,) in days.fetchall()] == [f"2024-01-{d:02d}" for d in range(1, 11)]
    ids = silver(payments_lake, "transactions", "payments")["transaction_id"]
    assert ids.str.contains(r"^T202401\d{2}\d{5}$").all()


def test_silver_catches_exactly_what_the_ledger_says_was_injected(payments_lake: Lake) -> None:
    injected = ledger(payments_lake, "transactions", "payments")
    rejected = quarantine(payments_lake, "transactions", "payments").select(
        pl.col("_source_file").alias("file"), pl.col("_source_line").alias("line"), "disposition", "failed_rules"
    )
    assert set(injected["kind"].str.split(";").explode()) >= {
        "duplicate", "non_positive", "unknown_status", "unknown_channel", "missing_id"
    }  # fmt: skip
    caught = injected.join(rejected, on=["file", "line"], how="left")
    assert caught["disposition"].null_count() == 0
    assert (caught.filter(pl.col("kind") == "duplicate")["disposition"] == "duplicate").all()
    assert (caught.filter(pl.col("kind") != "duplicate")["disposition"] == "invalid").all()
    assert rejected.join(injected, on=["file", "line"], how="anti").is_empty()
    rules = caught.filter(pl.col("kind") == "missing_id")["failed_rules"].explode()
    assert "transaction_id:not_null" in rules.to_list()


def test_enrichment_follows_the_seed(payments_lake: Lake) -> None:
    rows = silver(payments_lake, "transactions", "payments")
    fees = {"Credit Card": Decimal("2.50"), "Debit Card": Decimal("1.00"), "UPI": Decimal("0.50"),
            "Net Banking": Decimal("1.50")}  # fmt: skip
    for row in rows.iter_rows(named=True):
        assert row["fee_percent"] == fees[row["channel"]]
        assert row["revenue"] == row["amount"] * row["fee_percent"] / 100
        seconds = row["processing_time"]
        assert row["processing_delay_bucket"] == ("fast" if seconds < 1 else "medium" if seconds < 3 else "slow")
    assert 0.8 < (rows["status"] == "success").mean() < 0.97
    by_channel = rows.group_by("channel").agg(pl.col("processing_time").median()).sort("processing_time")
    assert by_channel["channel"].to_list()[0] == "UPI" and by_channel["channel"].to_list()[-1] == "Net Banking"


def test_star_schema_keys_and_rows(payments_lake: Lake) -> None:
    facts = gold(payments_lake, "fact_transactions", "payments")
    assert len(facts) == len(silver(payments_lake, "transactions", "payments"))
    dates = gold(payments_lake, "dim_date", "payments").sort("date_key")
    assert dates["date_key"].to_list()[0] == 20240101 and len(dates) == 10
    assert dates.filter(pl.col("full_date") == dt.date(2024, 1, 6))["weekday_flag"].item() == 0  # a Saturday
    assert set(facts["channel_key"]) <= set(gold(payments_lake, "dim_channel", "payments")["channel_key"])


HEADER = "transaction_id,transaction_ts,customer_id,city,channel,amount,status,processing_time\n"


def test_kpis_and_moving_averages_by_hand(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    reference = Lake(tmp_path / "reference")
    generate(reference, replace(SMALL_PAYMENTS, end=SMALL_PAYMENTS.start), workers=1)
    for table in ("channels", "cities", "customers"):
        path = reference.bronze_dir("payments", table) / f"{table}.csv"
        write_bronze(lake, table, f"{table}.csv", path.read_bytes(), "payments")
    city = silver_city(reference)
    days = {
        "2024-01-01": [("100.00", "UPI", "success", "0.5"), ("200.00", "Credit Card", "failed", "1.5")],
        "2024-01-03": [("50.00", "Credit Card", "success", "2.5"), ("10.00", "UPI", "success", "3.5")],
    }
    for day, rows in days.items():
        lines = [f"T{day.replace('-', '')}{i:05d},{day} 10:00:0{i},C00001,{city},{c},{a},{s},{t}"
                 for i, (a, c, s, t) in enumerate(rows, 1)]  # fmt: skip
        write_bronze(lake, "transactions", f"date={day}/transactions.csv", HEADER + "\n".join(lines) + "\n", "payments")
    run(lake, RunOptions(domains=("payments",), threads=2), "test")
    kpis = gold(lake, "agg_daily_kpis", "payments").sort("full_date")
    first, third = kpis.row(0, named=True), kpis.row(1, named=True)
    assert first["total_revenue"] == Decimal("0.5")  # 100 x 0.5 %; the failed card payment earns nothing
    assert first["failure_rate"] == 0.5 and first["avg_processing_time"] == 1.0
    assert third["total_revenue"] == Decimal("1.3")  # 50 x 2.5 % + 10 x 0.5 %
    assert third["total_revenue_ma7"] == pytest.approx(0.9) and third["failure_rate_ma7"] == 0.25
    assert third["avg_processing_time_ma7"] == 2.0
    channel = gold(lake, "agg_daily_channel_kpis", "payments").filter(pl.col("channel_name") == "UPI").sort("full_date")
    assert channel["avg_processing_time"].to_list() == [0.5, 3.5] and channel["avg_processing_time_ma7"][1] == 2.0


def silver_city(lake: Lake) -> str:
    customers = (lake.bronze_dir("payments", "customers") / "customers.csv").read_text().splitlines()
    return customers[1].split(",")[-1]


def state(lake: Lake, layer: str, table: str) -> dict:
    import json

    return json.loads((lake.root / "_state" / layer / "payments" / f"{table}.json").read_text())


def test_reprocessing_a_day_replaces_exactly_that_day(payments_lake: Lake, tmp_path: Path) -> None:
    import shutil

    lake = Lake(tmp_path / "lake")
    shutil.copytree(payments_lake.root, lake.root, symlinks=True)
    day = lake.bronze_dir("payments", "transactions") / "date=2024-01-05" / "transactions.csv"
    lines = day.read_text().splitlines(keepends=True)
    day.write_text("".join(lines[:-10]))  # a corrected file for the day, ten rows shorter
    before = {
        t: state(lake, layer, t)["partitions"]
        for layer, t in (("silver", "transactions"), ("gold", "fact_transactions"))
    }
    run(lake, RunOptions(domains=("payments",), threads=2, date="2024-01-05"), "test")
    for (layer, table), old in zip((("silver", "transactions"), ("gold", "fact_transactions")), before.values()):
        new = state(lake, layer, table)["partitions"]
        changed = {p for p in new if new[p]["version"] != old[p]["version"]}
        assert changed == {"2024-01-05"}, (table, changed)  # other days untouched, not recomputed
    facts = gold(lake, "fact_transactions", "payments")
    assert len(facts.filter(pl.col("transaction_date") == "2024-01-05")) < len(
        gold(payments_lake, "fact_transactions", "payments").filter(pl.col("transaction_date") == "2024-01-05")
    )
    reprocessed = snapshot(lake, "payments")
    run(lake, RunOptions(domains=("payments",), threads=2, date="2024-01-05"), "test")
    assert_same(snapshot(lake, "payments"), reprocessed)  # idempotent
    fresh = Lake(tmp_path / "fresh")
    shutil.copytree(lake.bronze, fresh.bronze)
    shutil.copytree(lake.ledger, fresh.ledger)
    run_payments(fresh)
    assert_same(snapshot(fresh, "payments"), reprocessed)  # as if the corrected file had always been there


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_days_arriving_in_any_order_and_batches_build_what_a_full_build_does(
    data: st.DataObject, payments_lake: Lake, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A month of days shares one quarantine file, which each batch of days rewrites with the rows it held."""
    lake = Lake(tmp_path_factory.mktemp("arrivals"))
    files = sorted(p.relative_to(payments_lake.root) for p in payments_lake.bronze.rglob("*.csv"))
    for batch in arrivals(data, files, least=2):
        deliver(payments_lake.root, lake, batch)
        run_payments(lake)
    assert_same(snapshot(lake, "payments"), snapshot(payments_lake, "payments"))
    days = {p.parent.name for p in lake.bronze_dir("payments", "transactions").glob("*/*.csv")}
    quarantined = list((lake.root / "silver" / "_quarantine" / "payments" / "transactions").glob("*.parquet"))
    assert len(days) == 10 and len(quarantined) == 1  # ten days of January, one quarantine file


def lakehouse(lake: Lake, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "pipelines.cli", "--data-dir", str(lake.root), *args]
    return subprocess.run(command, capture_output=True, text=True, env={**os.environ, **env}, timeout=300)


def test_transient_read_errors_are_retried_then_reported(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    generate(lake, replace(SMALL_PAYMENTS, end=dt.date(2024, 1, 2)), workers=1)
    flaky = lakehouse(lake, "run", "--domain", "payments", "--threads", "1", env={"LAKEHOUSE_FAIL_READS": "2"})
    assert flaky.returncode == 0, flaky.stderr
    assert flaky.stderr.count("failed (Input/output error (injected)); trying again") == 2
    day = lake.bronze_dir("payments", "transactions") / "date=2024-01-03" / "transactions.csv"
    write_bronze(lake, "transactions", "date=2024-01-03/transactions.csv", HEADER, "payments")
    broken = lakehouse(lake, "run", "--domain", "payments", "--threads", "1", env={"LAKEHOUSE_FAIL_READS": "3"})
    assert broken.returncode == 2
    assert broken.stderr.strip().splitlines()[-1] == (
        f"lakehouse: error: reading {day} failed 3 times (Input/output error (injected)); check the disk or "
        "share, then run again"
    )


def test_a_city_number_given_twice_keeps_the_first_city(payments_lake: Lake, tmp_path: Path) -> None:
    """An alternate key: a city's number is unique as its name is, so gold's dim_city keyed by it always holds."""
    lake = Lake(tmp_path / "lake")
    shutil.copytree(payments_lake.root, lake.root, symlinks=True)
    cities = (lake.bronze_dir("payments", "cities") / "cities.csv").read_text().splitlines()
    first = cities[1].split(",")
    write_bronze(lake, "cities", "more_cities.csv", f"{cities[0]}\n{first[0]},Atlantis,Sea,North\n", "payments")
    run_payments(lake)
    again = quarantine(lake, "cities", "payments").filter(pl.col("city") == "Atlantis")
    assert again.select("disposition", "failed_rules").rows() == [("duplicate", ["key:duplicate"])]
    assert again["duplicate_of"][0] == "payments/cities/cities.csv:2"
    assert gold(lake, "dim_city", "payments")["city_key"].is_duplicated().sum() == 0

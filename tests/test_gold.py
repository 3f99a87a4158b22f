"""Gold: star-schema integrity, aggregates that add up, bill verification, and checks that block publication."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import Future
from dataclasses import replace
from unittest.mock import patch

import duckdb
import polars as pl
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

import contracts
from core import checks
from core.checks import Failure, check_key, check_table
from core.errors import CheckFailedError
from engines.duckdb_engine import DuckDBEngine
from gold.build import GoldBuilder, other_domains_read, start_duckdb
from gold.models import Model, dependencies, models
from pipelines.graph import topological
from tests.conftest import assert_same, gold, ledger, quarantine, run_lake, silver, snapshot

DAYS = ["2024-01-01", "2024-01-02", "9999-12-31"]


@pytest.fixture
def built(lake_copy):
    run_lake(lake_copy)
    return lake_copy


def catalog(lake) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(lake.catalog), read_only=True)


def test_every_fact_key_resolves_to_its_dimension(built) -> None:
    con = catalog(built)
    for table in contracts.tables("gold", "meters"):
        for fk in table.foreign_keys:
            on = " and ".join(f"d.{to} = f.{col}" for col, to in zip(fk.columns, fk.to))
            orphans = con.execute(
                f"select count(*) from {table.qualified_name} f where {fk.columns[0]} is not null "
                f"and not exists (select 1 from gold_meters.{fk.table} d where {on})"
            ).fetchall()[0][0]
            assert orphans == 0, (table.name, fk)
        assert con.execute(f"select count(*) from {table.qualified_name}").fetchall()[0][0] > 0, table.name


def test_aggregates_add_up_to_the_facts(built) -> None:
    con = catalog(built)

    def total(sql: str) -> object:
        return con.execute(sql).fetchall()[0][0]

    kwh = total("select sum(kwh) from gold_meters.fact_readings")
    assert kwh == total("select sum(kwh) from silver_meters.readings")
    for aggregate in (
        "agg_daily_consumption",
        "agg_monthly_consumption",
        "agg_consumer_type_summary",
        "agg_location_summary",
    ):
        assert total(f"select sum(total_kwh) from gold_meters.{aggregate}") == kwh, aggregate
    billed = total("select sum(total_amount) from gold_meters.fact_bills")
    for aggregate in ("agg_consumer_type_summary", "agg_location_summary", "agg_payment_summary"):
        assert total(f"select sum(billed_amount) from gold_meters.{aggregate}") == billed, aggregate
    assert total("select sum(collected_amount) from gold_meters.agg_payment_summary") == total(
        "select sum(amount_paid) from gold_meters.fact_payments"
    )
    readings = total("select count(*) from gold_meters.fact_readings")
    assert total("select sum(readings) from gold_meters.agg_daily_consumption") == readings
    statuses = total("select sum(paid_on_time + paid_late + partial + unpaid) from gold_meters.agg_payment_summary")
    assert statuses == total("select count(*) from gold_meters.fact_bills")


def test_bill_verification_flags_exactly_the_billing_errors(built) -> None:
    verification = gold(built, "agg_bill_verification")
    bills = pl.read_parquet(built.root / "silver" / "meters" / "bills" / "*.parquet")
    errors = ledger(built, "bills").filter(pl.col("kind").str.contains("bill_error"))
    wrong = errors.join(
        bills.select(pl.col("_source_file").alias("file"), pl.col("_source_line").alias("line"), "bill_id"),
        on=["file", "line"],
    )["bill_id"]
    assert len(wrong) > 0
    mismatched = verification.filter(pl.col("status") == "mismatch")["bill_id"]
    assert sorted(mismatched.to_list()) == sorted(wrong.to_list())


def test_a_tampered_bill_is_caught(lake_copy) -> None:
    path = sorted(lake_copy.bronze_dir("meters", "bills").glob("*.csv"))[0]
    lines = path.read_text().splitlines()
    header = lines[0].split(",")
    row = lines[1].split(",")
    for column in ("energy_charge", "total_amount"):  # a consistent forgery: the row check still passes
        row[header.index(column)] = f"{float(row[header.index(column)]) + 100:.2f}"
    lines[1] = ",".join(row)
    path.write_text("\n".join(lines) + "\n")
    run_lake(lake_copy)
    verification = gold(lake_copy, "agg_bill_verification").filter(pl.col("bill_id") == row[0])
    assert verification.select("status", pl.col("amount_difference").cast(pl.Float64)).row(0) == ("mismatch", 100.0)


def test_failed_checks_keep_the_last_good_version(built) -> None:
    model = models()["gold_meters.dim_location"]
    published = gold(built, "dim_location")
    broken = Model(
        model.table,
        model.path,
        model.sql + "\nunion all select 'ISB-1', 'again', 'Islamabad'",
        model.reads,
        model.references,
    )
    builder = GoldBuilder(built, "20990101T000000000000Z")
    with pytest.raises(CheckFailedError, match=r"key:unique \(1\)"):
        builder.build(broken, force=True)
    assert gold(built, "dim_location").equals(published)
    retyped = model.sql.replace("    district\nfrom divisions", "    length(district) as district\nfrom divisions")
    with pytest.raises(CheckFailedError, match="columns .* district VARCHAR, built .* district BIGINT"):
        builder.build(Model(model.table, model.path, retyped, model.reads, model.references), force=True)
    unknown = model.sql.replace("division_code as location_key", "division_code")
    with pytest.raises(CheckFailedError, match="failed to build: Binder Error"):
        builder.build(Model(model.table, model.path, unknown, model.reads, model.references), force=True)
    assert gold(built, "dim_location").equals(published)


def test_checks_name_each_broken_rule() -> None:
    con = duckdb.connect()
    con.execute("create schema gold_meters")
    con.execute(
        "create table gold_meters.dim_location as select * from (values ('A', 'x', 'Islamabad')) "
        "t(location_key, division, district)"
    )
    con.execute(
        "create table gold_meters.agg_location_summary as select * from (values "
        "('A', 'Islamabad', 'x', 1::bigint, 1.0::decimal(18,3), 0::bigint, 1::bigint, 10.00::decimal(18,2), "
        "5.00::decimal(18,2), 5.00::decimal(18,2), 0.5::double), "
        "('B', 'Lahore', 'y', -1::bigint, 1.0::decimal(18,3), 0::bigint, 1::bigint, 10.00::decimal(18,2), "
        "5.00::decimal(18,2), 5.00::decimal(18,2), null::double)) t(location_key, district, division, meters, "
        "total_kwh, anomaly_readings, bills, billed_amount, collected_amount, outstanding_amount, collection_rate)"
    )
    con.execute("create table gold_meters.fact_bills as select 10.00::decimal(14,2) as total_amount")
    table = contracts.get("gold", "meters", "agg_location_summary")
    failures = {f.check: f.offending for f in check_table(con, table)}
    assert failures == {
        "district:allowed": 1,
        "meters:range": 1,
        "fk:dim_location:location_key": 1,
        "audit:billed_matches_fact": 1,
    }


def test_quarantined_rows_never_reach_gold(built) -> None:
    bad = (
        quarantine(built, "readings").filter(pl.col("disposition") == "invalid").drop_nulls(["meter_id", "reading_ts"])
    )
    assert len(bad) > 0
    facts = gold(built, "fact_readings").select(
        "meter_id", pl.col("reading_ts").dt.strftime("%Y-%m-%d %H:%M:%S").alias("reading_ts")
    )
    assert bad.join(facts, on=["meter_id", "reading_ts"], how="inner").is_empty()


def test_models_read_their_own_domain_only() -> None:
    """What lets a run build domains side by side, each on its own connection: found, not assumed."""
    assert [name for name, model in models().items() if other_domains_read(model)] == []
    model = models()["prepared_layers.forex_ohlc_m1"]
    crossing = replace(model, reads=(*model.reads, "gold_meters.dim_meter", "quarantine_payments.transactions"))
    assert other_domains_read(crossing) == ["gold_meters.dim_meter", "quarantine_payments.transactions"]


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), st.integers(0, 3), st.sampled_from(DAYS)), max_size=12),
    rebuilt=st.sets(st.sampled_from(DAYS), min_size=1),
)
def test_a_key_checked_in_the_rebuilt_partitions_alone_gives_the_whole_tables_verdict(rows, rebuilt) -> None:
    """Where the key does not fix the partition (a session belongs to the day it closed), a refresh checks only the
    rebuilt partitions' keys: unique among themselves and absent from the kept partitions. The kept partitions
    were checked when they were built, so, given that they are unique, the verdict is the whole table's."""
    table = contracts.by_name("prepared_layers.cdr_tower_sessions")
    kept = [r for r in rows if r[2] not in rebuilt]
    assume(len({r[:2] for r in kept}) == len(kept))
    con = duckdb.connect()
    con.execute("create schema prepared_layers")
    con.execute("create table prepared_layers.cdr_tower_sessions (msisdn varchar, session_start integer, day varchar)")
    if rows:
        con.executemany("insert into prepared_layers.cdr_tower_sessions values (?, ?, ?)", rows)
    whole, fresh = check_key(con, table), check_key(con, table, rebuilt=rebuilt)
    assert bool(whole) == bool(fresh) == (len({r[:2] for r in rows}) < len(rows))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(["a", "b", None]), st.integers(0, 3), st.sampled_from(DAYS)), max_size=12),
    st.sampled_from([None, 1, 2, 5, checks.HASHES_PER_SORT]),
)
@example(rows=[("a", 1, DAYS[0]), ("b", 2, DAYS[0]), ("a", 1, DAYS[1])], per_sort=1)
def test_a_key_check_counts_each_repeated_key_once(rows, per_sort) -> None:
    """The whole table's key check screens the keys' hashes first (counted by DuckDB in a small table, else sorted a
    share at a time) and groups the keys only where a hash repeats: its count is still the number of keys held by
    more than one row (nulls alike), and none when all are unique, however the hashes are screened."""
    table = contracts.by_name("prepared_layers.cdr_tower_sessions")
    con = duckdb.connect()
    con.execute("create schema prepared_layers")
    con.execute("create table prepared_layers.cdr_tower_sessions (msisdn varchar, session_start integer, day varchar)")
    if rows:
        con.executemany("insert into prepared_layers.cdr_tower_sessions values (?, ?, ?)", rows)
    keys = Counter(r[:2] for r in rows)
    repeated = sum(1 for n in keys.values() if n > 1)
    sorted_from = checks.SORTED_FROM if per_sort is None else 0  # None: counted by DuckDB
    with patch.object(checks, "SORTED_FROM", sorted_from), patch.object(checks, "HASHES_PER_SORT", per_sort or 1):
        assert check_key(con, table) == ([Failure("key:unique", repeated)] if repeated else [])


def test_an_engine_started_before_silver_sees_what_silver_then_built(lake_copy, clean_snapshot) -> None:
    """A run starts each domain's DuckDB while silver runs. Started on a lake with no silver yet (every view
    empty, every macro bound to them), then handed to the gold stage once silver is built, it builds from what
    silver built: a fact row per reading, a dimension row per meter, and the same gold as a run."""
    started: Future[DuckDBEngine] = Future()
    started.set_result(start_duckdb(lake_copy, "meters", 2, None))
    run_lake(lake_copy, layers=("silver",))
    builder = GoldBuilder(lake_copy, "20990101T000000000000Z", 2, domain="meters", started=started)
    try:
        for name in topological(dependencies()):
            if models()[name].table.domain == "meters":
                assert builder.build(models()[name]).status == "built"
    finally:
        builder.close()
    assert gold(lake_copy, "fact_readings").height == silver(lake_copy, "readings").height > 0
    assert gold(lake_copy, "dim_meter").height == silver(lake_copy, "meters").height > 0
    assert_same(snapshot(lake_copy), clean_snapshot)

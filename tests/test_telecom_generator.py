"""The telecom generator: deterministic, continuable five minutes at a time, bursty, honest about its dirt, and
well-formed for any number of subscribers."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import contracts
from core.errors import LakehouseError
from core.lake import Lake
from generators import telecom
from tests.conftest import SMALL_TELECOM, gold, ledger, quarantine, run_telecom, silver
from tests.test_generator import digests

FEEDS = ("cdr_data_usage", "cdr_voice_calls", "forex_raw")
CRM = ("crm_accounts", "crm_addresses", "crm_devices")


def test_same_seed_gives_identical_bronze_for_any_number_of_workers(telecom_generated: Path, tmp_path: Path) -> None:
    two = Lake(tmp_path / "two")
    telecom.generate(two, SMALL_TELECOM, workers=2)
    assert digests(two.root) == digests(telecom_generated)


def feed_lines(lake: Lake, feed: str) -> list[bytes]:
    paths = sorted(lake.bronze_dir("telecom", feed).glob("*.csv"))
    return sorted(line for p in paths for line in p.read_bytes().splitlines()[1:])


def test_minutes_append_the_next_batches_of_the_same_feeds(tmp_path: Path) -> None:
    params = replace(SMALL_TELECOM, dirt=telecom.TelecomDirt.parse("late=0.05", clean=True))
    with pytest.raises(LakehouseError, match="run `lakehouse generate telecom` first"):
        telecom.generate(Lake(tmp_path / "empty"), params, workers=1, minutes=5)
    batched = Lake(tmp_path / "batched")
    telecom.generate(batched, replace(params, end=params.end - dt.timedelta(hours=2)), workers=1)
    for _ in range(24):
        totals = telecom.generate(batched, params, workers=1, minutes=5)
        assert totals["forex_raw"]["written"] == 1 and totals["crm_accounts"]["written"] == 0
    assert telecom.extent(batched) == params.end
    whole = Lake(tmp_path / "whole")
    telecom.generate(whole, params, workers=1)
    for feed in FEEDS:  # the same events, whatever the windows they arrived in
        assert feed_lines(batched, feed) == feed_lines(whole, feed), feed
    names = sorted(p.name for p in batched.bronze_dir("telecom", "forex_raw").glob("*.csv"))
    assert names[-1] == "20240102T115500_20240102T120000.csv"


def caught_exactly_the_ledger(lake: Lake) -> dict[str, tuple[int, int]]:
    """Assert that silver quarantined exactly the lines the ledger lists as defects and loaded the late events
    into their own day; per feed, how many defects and late events there were."""
    found = {}
    for feed in FEEDS:
        none = pl.DataFrame(schema={"file": pl.String, "line": pl.Int64, "kind": pl.String})  # a clean feed's
        injected = ledger(lake, feed, "telecom") if any((lake.ledger / "telecom" / feed).glob("*.csv")) else none
        rejected = quarantine(lake, feed, "telecom").select(
            pl.col("_source_file").alias("file"), pl.col("_source_line").alias("line"), "disposition"
        )
        defects = injected.filter(pl.col("kind").str.contains("negative|malformed|unknown_msisdn|duplicate"))
        caught = defects.join(rejected, on=["file", "line"], how="left")
        assert caught["disposition"].null_count() == 0, (feed, caught.filter(pl.col("disposition").is_null()))
        assert (caught.filter(pl.col("kind") == "duplicate")["disposition"] == "duplicate").all()
        assert (caught.filter(pl.col("kind") != "duplicate")["disposition"] == "invalid").all()
        assert rejected.join(defects, on=["file", "line"], how="anti").is_empty(), feed
        late = injected.filter(pl.col("kind") == "late").select("file", "line")
        if feed != "forex_raw":  # late events are real: loaded, into the day they happened
            loaded = silver(lake, feed, "telecom").select(
                pl.col("_source_file").alias("file"), pl.col("_source_line").alias("line")
            )
            assert len(late.join(loaded, on=["file", "line"])) == len(late), feed
        found[feed] = (len(defects), len(late))
    return found


def test_silver_catches_exactly_what_the_ledger_says_was_injected(telecom_copy: Lake) -> None:
    run_telecom(telecom_copy)
    found = caught_exactly_the_ledger(telecom_copy)
    assert all(defects > 0 for defects, _ in found.values()), found
    assert found["cdr_data_usage"][1] > 0 and found["cdr_voice_calls"][1] > 0


@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    subscribers=st.integers(1, 250),
    begin=st.integers(0, 23),
    hours=st.integers(1, 4),
    cut=st.floats(0.1, 0.9),
    bursts=st.floats(0.5, 12),
    rate=st.sampled_from([0.0, 0.01, 0.2]),
    seed=st.integers(0, 1_000),
)
def test_any_number_of_subscribers_gives_well_formed_feeds(
    tmp_path_factory, subscribers, begin, hours, cut, bursts, rate, seed
) -> None:
    """Generation works from one subscriber up, at any hour (night hours often have no events); windows carry
    the events of the whole period; every file has its header and as many lines as reported; silver reads every
    row reported, loads every line the ledger does not list as a defect, and one CRM row per subscriber."""
    start = dt.datetime(2024, 1, 1, begin)
    kinds = ("malformed", "duplicate", "unknown_msisdn", "negative", "late", "forex_malformed", "forex_duplicate")
    params = telecom.TelecomParams(
        subscribers=subscribers,
        start=start,
        end=start + dt.timedelta(hours=hours),
        seed=seed,
        bursts_per_day=bursts,
        tick_seconds=60,
        dirt=telecom.TelecomDirt.parse(",".join(f"{kind}={rate}" for kind in kinds), clean=True),
    )
    # defects are drawn per file, so the same events in other windows are compared without them (late is no defect)
    events = replace(params, dirt=telecom.TelecomDirt.parse(f"late={rate}", clean=True))
    at_once, windows = Lake(tmp_path_factory.mktemp("at_once")), Lake(tmp_path_factory.mktemp("windows"))
    telecom.generate(at_once, events, workers=1)
    first = round(hours * 60 * cut)
    telecom.generate(windows, replace(events, end=start + dt.timedelta(minutes=first)), workers=1)
    telecom.generate(windows, events, workers=1, minutes=hours * 60 - first)
    for feed in FEEDS:
        assert feed_lines(windows, feed) == feed_lines(at_once, feed), feed
    whole = Lake(tmp_path_factory.mktemp("whole"))
    totals = telecom.generate(whole, params, workers=1)
    for name, written in totals.items():
        table = contracts.get("silver", "telecom", name)
        files = list(whole.bronze_dir("telecom", name).glob("*.csv"))
        header = ",".join(c.name for c in table.source_columns).encode()
        assert all(p.read_bytes().splitlines()[0] == header for p in files), name
        assert sum(len(p.read_bytes().splitlines()) - 1 for p in files) == written["rows"], name
    manifest = run_telecom(whole, layers=("silver",))
    assert {name: manifest.silver[f"silver_telecom.{name}"]["rows_in"] for name in totals} == {
        name: written["rows"] for name, written in totals.items()
    }
    caught_exactly_the_ledger(whole)
    for name in CRM:
        assert len(silver(whole, name, "telecom")["account_id"].unique()) == subscribers, name
    assert len(silver(whole, "crm_addresses", "telecom")) == subscribers


def test_feeds_look_like_the_seed(telecom_copy: Lake) -> None:
    run_telecom(telecom_copy)
    accounts = silver(telecom_copy, "crm_accounts", "telecom")
    assert (
        accounts["phone_number"].str.contains(r"^\+27[6-8]\d{8}$").all() and accounts["phone_number"].is_unique().all()
    )
    usage = silver(telecom_copy, "cdr_data_usage", "telecom")
    calls = silver(telecom_copy, "cdr_voice_calls", "telecom")
    assert usage["msisdn"].is_in(accounts["phone_number"].implode()).all()
    sessions = gold(telecom_copy, "cdr_tower_sessions", "telecom")
    # bursts on a home tower: most interactions belong to a run of three or more (uniform towers: almost none)
    assert sessions["interaction_count"].sum() > 0.5 * (len(usage) + len(calls))
    forex = silver(telecom_copy, "forex_raw", "telecom").sort("pair_name", "timestamp")
    bids = dict(forex.group_by("pair_name").agg(pl.col("bid_price").cast(pl.Float64).mean()).iter_rows())
    assert 18 < bids["MRVZAR"] < 19 and 1.2 < bids["WAKMRV"] < 1.3
    gaps = forex.group_by("pair_name").agg(pl.col("timestamp").diff().dt.total_milliseconds().mean())
    assert all(4_500 < gap < 5_500 for gap in gaps[gaps.columns[1]])  # a quote about every tick_seconds
    assert (forex["timestamp"].dt.millisecond() != 0).any()

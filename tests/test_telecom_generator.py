"""The telecom generator: deterministic, continuable five minutes at a time, bursty, and honest about its dirt."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest

from generators import telecom
from pipelines.errors import LakehouseError
from pipelines.lake import Lake
from tests.conftest import SMALL_TELECOM, gold, ledger, quarantine, run_telecom, silver
from tests.test_generator import digests

FEEDS = ("cdr_data_usage", "cdr_voice_calls", "forex_raw")


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


def test_silver_catches_exactly_what_the_ledger_says_was_injected(telecom_copy: Lake) -> None:
    run_telecom(telecom_copy)
    for feed in FEEDS:
        injected = ledger(telecom_copy, feed, "telecom")
        rejected = quarantine(telecom_copy, feed, "telecom").select(
            pl.col("_source_file").alias("file"), pl.col("_source_line").alias("line"), "disposition"
        )
        defects = injected.filter(pl.col("kind").str.contains("negative|malformed|unknown_msisdn|duplicate"))
        assert len(defects) > 0, feed
        caught = defects.join(rejected, on=["file", "line"], how="left")
        assert caught["disposition"].null_count() == 0, (feed, caught.filter(pl.col("disposition").is_null()))
        assert (caught.filter(pl.col("kind") == "duplicate")["disposition"] == "duplicate").all()
        assert (caught.filter(pl.col("kind") != "duplicate")["disposition"] == "invalid").all()
        assert rejected.join(defects, on=["file", "line"], how="anti").is_empty(), feed
        if feed != "forex_raw":  # late events are real: loaded, into the day they happened
            late = injected.filter(pl.col("kind") == "late").select("file", "line")
            loaded = silver(telecom_copy, feed, "telecom").select(
                pl.col("_source_file").alias("file"), pl.col("_source_line").alias("line")
            )
            assert len(late) > 0 and len(late.join(loaded, on=["file", "line"])) == len(late)


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

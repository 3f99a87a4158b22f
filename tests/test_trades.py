"""Trades: monthly CSV and workbook drops, the source's rules in silver, the settlement, and the gold tables."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.lake import Lake
from generators.trades import generate
from silver import merging
from tests.conftest import (
    SMALL_TRADES,
    arrivals,
    assert_same,
    deliver,
    gold,
    ledger,
    quarantine,
    run_trades,
    silver,
    snapshot,
    write_bronze,
)
from tests.test_generator import digests

LOADED_KINDS = {"late", "negative_sell"}  # true trades, loaded; every other kind of dirt is quarantined


def test_same_seed_gives_identical_bronze_for_any_number_of_workers(trades_generated: Path, tmp_path: Path) -> None:
    two = Lake(tmp_path / "two")
    generate(two, SMALL_TRADES, workers=2)
    assert digests(two.root) == digests(trades_generated)
    names = sorted(p.name for p in (two.bronze / "trades" / "transactions").iterdir())
    assert [n.rsplit(".", 1)[1] for n in names] == ["csv", "csv", "xlsx"] * 2 + ["csv"]


def test_silver_catches_exactly_what_the_ledger_says_was_injected(trades_lake: Lake) -> None:
    injected = ledger(trades_lake, "transactions", "trades").with_columns(
        pl.col("kind").str.split(";").list.set_difference(list(LOADED_KINDS)).alias("defects")
    )
    assert injected["sheet"].drop_nulls().n_unique() >= 4  # workbook rows keep their sheet
    where = ["file", "sheet", "line"]
    rejected = quarantine(trades_lake, "transactions", "trades").select(
        pl.col("_source_file").alias("file"), pl.col("_source_sheet").alias("sheet"),
        pl.col("_source_line").alias("line"), "disposition",
    )  # fmt: skip
    defects = injected.filter(pl.col("defects").list.len() > 0)
    caught = defects.join(rejected, on=where, how="left", nulls_equal=True)
    assert caught["disposition"].null_count() == 0, caught.filter(pl.col("disposition").is_null())
    is_duplicate = pl.col("defects").list.contains("duplicate")
    assert (caught.filter(is_duplicate)["disposition"] == "duplicate").all()
    assert (caught.filter(~is_duplicate)["disposition"] == "invalid").all()
    assert rejected.join(defects, on=where, how="anti", nulls_equal=True).is_empty()
    kinds = set(injected["kind"].str.split(";").explode())
    assert kinds >= {"unknown_client", "duplicate", "unknown_currency", "unknown_type", "amount_mismatch",
                     "before_opening", "malformed_number", "malformed_columns", "malformed_date", "late",
                     "negative_sell"}  # fmt: skip


def test_sells_filed_negative_are_loaded_as_absolute_and_flagged(trades_lake: Lake) -> None:
    rows = silver(trades_lake, "transactions", "trades").rename(
        {"_source_file": "file", "_source_sheet": "sheet", "_source_line": "line"}
    )
    negative = ledger(trades_lake, "transactions", "trades").filter(pl.col("kind").str.contains("negative_sell"))
    flagged = rows.filter("negative_sell_amount").select("file", "sheet", "line")
    assert len(negative) > 0
    assert flagged.sort(flagged.columns).equals(negative.select("file", "sheet", "line").sort(flagged.columns))
    assert (rows["amount"] > 0).all()
    assert (rows["amount"] == rows["shares"].cast(pl.Decimal(38, 0)) * rows["price"]).all()


def test_workbook_rows_keep_their_sheet_and_row(trades_lake: Lake) -> None:
    rows = silver(trades_lake, "transactions", "trades")
    from_workbooks = rows.filter(pl.col("_source_file").str.ends_with(".xlsx"))
    assert from_workbooks["_source_sheet"].null_count() == 0 and len(from_workbooks) > 500
    assert rows.filter(pl.col("_source_file").str.ends_with(".csv"))["_source_sheet"].null_count() == len(
        rows.filter(pl.col("_source_file").str.ends_with(".csv"))
    )
    assert from_workbooks["_source_line"].min() == 2


CLIENTS = """client_id,name,email,date_of_birth,country,account_type,account_balance,account_open_date,status,\
phone_number,address,risk_tolerance,account_currency
0000000a,Ann,ann@x.org,1980-01-01,Kenya,standard,1000.00,2020-01-01,active,1,A street,low,USD
0000000b,Bob,bob@x.org,1980-01-01,Chile,standard,100.00,2020-01-01,suspended,1,B street,low,EUR
0000000c,Cid,cid@x.org,1980-01-01,Peru,premium,0.00,2020-01-01,inactive,1,C street,medium,GBP
0000000d,Dee,dee@x.org,1980-01-01,Fiji,premium,500.00,2020-01-01,active,1,D street,medium,USD
"""
HEADER = (
    "transaction_id,client_id,transaction_type,transaction_date,stock_ticker,stock_name,shares,price,amount,"
    "currency,transaction_status,transaction_channel\n"
)
TRADES = [  # id, client, type, when, shares, price, amount, currency
    ("A0000001", "0000000a", "buy", "2024-01-02 10:00:00", 4, "250.00", "1000.00", "USD"),  # exactly the balance
    ("A0000002", "0000000a", "buy", "2024-01-03 10:00:00", 3, "100.00", "300.00", "USD"),  # 300 short: debt
    ("A0000003", "0000000a", "buy", "2024-01-04 10:00:00", 1, "10.00", "10.00", "USD"),  # suspended: rejected
    ("A0000004", "0000000a", "sell", "2024-01-05 10:00:00", 1, "100.00", "-100.00", "USD"),  # pays 100 of 300
    ("A0000005", "0000000a", "sell", "2024-01-06 10:00:00", 5, "100.00", "500.00", "USD"),  # clears it, 300 left
    ("A0000006", "0000000a", "buy", "2024-01-07 10:00:00", 1, "50.00", "50.00", "USD"),  # active again
    ("B0000002", "0000000b", "buy", "2024-01-02 10:00:00", 1, "5.00", "5.00", "EUR"),  # filed suspended
    ("B0000001", "0000000b", "sell", "2024-01-02 10:00:00", 1, "10.00", "10.00", "EUR"),  # same second: first
    ("C0000001", "0000000c", "sell", "2024-01-02 10:00:00", 1, "100.00", "100.00", "EUR"),  # EUR->GBP 0.88
    ("C0000002", "0000000c", "buy", "2024-01-03 10:00:00", 1, "10.00", "10.00", "USD"),  # USD->GBP 0.80
    ("D0000001", "0000000d", "sell", "2024-01-02 10:00:00", 1, "10.02", "10.02", "GBP"),  # GBP->USD 1.25: 12.525
]


def test_settlement_follows_the_rules_on_hand_made_trades(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    write_bronze(lake, "clients", "clients.csv", CLIENTS, "trades")
    lines = [
        f"{i},{c},{t},{w},AAPL,Apple Inc.,{s},{p},{a},{cur},completed,online" for i, c, t, w, s, p, a, cur in TRADES
    ]
    write_bronze(lake, "transactions", "2024-01.csv", HEADER + "\n".join(lines) + "\n", "trades")
    run_trades(lake)
    rows = {r["transaction_id"]: r for r in gold(lake, "transactions", "trades").iter_rows(named=True)}
    outcome = {i: (r["settlement_status"], str(r["balance_after"]), str(r["debt_after"])) for i, r in rows.items()}
    assert outcome == {
        "A0000001": ("settled", "0.00", "0.00"),
        "A0000002": ("failed_insufficient_funds", "0.00", "300.00"),
        "A0000003": ("rejected_suspended", "0.00", "300.00"),
        "A0000004": ("settled", "0.00", "200.00"),
        "A0000005": ("settled", "300.00", "0.00"),
        "A0000006": ("settled", "250.00", "0.00"),
        "B0000001": ("settled", "110.00", "0.00"),
        "B0000002": ("rejected_suspended", "110.00", "0.00"),
        "C0000001": ("settled", "88.00", "0.00"),
        "C0000002": ("settled", "80.00", "0.00"),
        "D0000001": ("settled", "512.53", "0.00"),  # rounded half up
    }
    assert rows["C0000001"]["fx_rate"] == Decimal("0.88") and rows["D0000001"]["amount_account"] == Decimal("12.53")
    clients = gold(lake, "clients", "trades").sort("client_id")
    assert clients["status"].to_list() == ["active", "suspended", "inactive", "active"]
    assert clients["account_balance"].cast(pl.String).to_list() == ["250.00", "110.00", "80.00", "512.53"]
    summary = gold(lake, "client_transaction_summary", "trades").sort("client_id")
    ann = summary.row(0, named=True)
    assert (ann["total_transactions"], ann["total_spent"], ann["total_gained"]) == (6, Decimal("1050"), Decimal("600"))
    negative = silver(lake, "transactions", "trades").filter(pl.col("transaction_id") == "A0000004").row(0, named=True)
    assert negative["negative_sell_amount"] and negative["amount"] == Decimal("100")


def test_an_id_filed_again_in_a_later_month_is_a_duplicate(tmp_path: Path) -> None:
    """A key the partition does not fix: the earliest row in file order wins across months, whichever month arrives
    first, so gold's transactions keep one row per id and an incremental build equals a full one."""
    lake = Lake(tmp_path / "lake")
    write_bronze(lake, "clients", "clients.csv", CLIENTS, "trades")
    trade = "A0000001,0000000a,buy,{when},AAPL,Apple Inc.,1,10.00,10.00,USD,completed,online\n"
    write_bronze(lake, "transactions", "2024-02.csv", HEADER + trade.format(when="2024-02-02 10:00:00"), "trades")
    run_trades(lake)
    write_bronze(lake, "transactions", "2024-01.csv", HEADER + trade.format(when="2024-01-02 10:00:00"), "trades")
    run_trades(lake)  # the earlier file arrives later: the February row already loaded becomes the duplicate
    kept = gold(lake, "transactions", "trades")
    assert kept.select("transaction_id", pl.col("transaction_date").dt.month()).rows() == [("A0000001", 1)]
    again = quarantine(lake, "transactions", "trades")
    assert again.select("_source_file", "disposition", "duplicate_of").rows() == [
        ("trades/transactions/2024-02.csv", "duplicate", "trades/transactions/2024-01.csv:2")
    ]
    incremental = snapshot(lake, "trades")
    run_trades(lake, full_refresh=True)
    assert_same(incremental, snapshot(lake, "trades"))


def test_a_late_file_resettles_the_client_from_that_date(trades_generated: Path, tmp_path: Path) -> None:
    """An old trade arriving last changes what every later trade of its client left, exactly as a full build."""
    lake = Lake(tmp_path / "lake")
    shutil.copytree(trades_generated, lake.root)
    run_trades(lake)
    before = gold(lake, "transactions", "trades")
    trading = gold(lake, "clients", "trades").filter(pl.col("filed_status") != "suspended").select("client_id")
    client = before.join(trading, on="client_id").group_by("client_id").len().sort("len")["client_id"][-1]
    first = before.filter(pl.col("client_id") == client).sort("transaction_date").row(0, named=True)
    when = (first["transaction_date"] - dt.timedelta(seconds=1)).strftime("%Y-%m-%d %H:%M:%S")
    line = f"LATE0001,{client},buy,{when},AAPL,Apple Inc.,1,1.00,1.00,{first['account_currency']},completed,online"
    write_bronze(lake, "transactions", "late.csv", HEADER + line + "\n", "trades")
    manifest = run_trades(lake)
    assert manifest.silver["silver_trades.settlements"]["status"] == "built"
    after = gold(lake, "transactions", "trades")
    moved = after.join(before, on="transaction_id", suffix="_before").filter(
        pl.col("balance_after") != pl.col("balance_after_before")
    )
    assert set(moved["client_id"]) == {client}  # only the late trade's client moved
    fresh = Lake(tmp_path / "fresh")
    shutil.copytree(lake.bronze, fresh.bronze)
    run_trades(fresh)
    assert gold(fresh, "transactions", "trades").sort("transaction_id").equals(after.sort("transaction_id"))


def test_default_parameters_cover_three_years(tmp_path: Path) -> None:
    small = replace(SMALL_TRADES, start=dt.date(2023, 1, 1), end=dt.date(2025, 12, 31), transactions=500)
    lake = Lake(tmp_path / "lake")
    generate(lake, small, workers=1)
    run_trades(lake)
    years = sorted(p.name for p in (lake.root / "gold" / "trades" / "transactions").iterdir())
    assert years == ["year=2023", "year=2024", "year=2025"]


@pytest.fixture(scope="module")
def trades_snapshot(trades_lake: Lake) -> dict[str, pl.DataFrame]:
    return snapshot(trades_lake, "trades")


@settings(
    max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_any_arrival_order_gives_the_full_rebuild(
    trades_generated: Path, trades_snapshot: dict[str, pl.DataFrame], data: st.DataObject
) -> None:
    """Files (clients included) arriving in any order and batches settle every client exactly as one full build:
    trades waiting for their client load when it arrives, and a month arriving late re-settles from its year."""
    files = sorted(p.relative_to(trades_generated) for p in (trades_generated / "bronze").rglob("*.*"))
    with tempfile.TemporaryDirectory() as directory:
        lake = Lake(Path(directory) / "lake")
        for batch in arrivals(data, files):
            deliver(trades_generated, lake, batch)
            run_trades(lake)
        incremental = snapshot(lake, "trades")
        assert run_trades(lake).status == "up_to_date"
        run_trades(lake, full_refresh=True)
        assert_same(snapshot(lake, "trades"), incremental)
    assert_same(incremental, trades_snapshot)


def test_merging_in_buckets_changes_nothing_and_gold_files_are_in_client_order(
    trades_generated: Path, trades_snapshot: dict[str, pl.DataFrame], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Silver months merged in buckets settle as merged whole; the gold table a lookup reads has each year's file
    sorted by client, then date and id, which its row-group statistics depend on."""
    monkeypatch.setattr(merging, "BUCKET_ROWS", 300)
    lake = Lake(tmp_path / "lake")
    shutil.copytree(trades_generated, lake.root)
    run_trades(lake)
    assert_same(snapshot(lake, "trades"), trades_snapshot)
    assert any((lake.root / "silver" / "trades" / "transactions").resolve().rglob("part-1.parquet"))
    order = ["client_id", "transaction_date", "transaction_id"]
    years = sorted((lake.root / "gold" / "trades" / "transactions").iterdir())
    assert [y.name for y in years] == ["year=2023", "year=2024"]
    for year in years:
        for part in year.glob("*.parquet"):
            rows = pl.read_parquet(part).select(order)
            assert len(rows) > 500 and rows.equals(rows.sort(order)), part


@pytest.mark.parametrize(
    "point",
    [
        "before_commit:silver_trades.settlements",
        "after_commit:silver_trades.settlements",
        "before_commit:gold_trades.transactions",
    ],
)
def test_killed_while_publishing_a_settlement_is_finished_by_the_next_run(
    point: str, trades_generated: Path, trades_snapshot: dict[str, pl.DataFrame], tmp_path: Path
) -> None:
    """A run killed (kill -9) while it publishes the settlements re-settled by a late month leaves the last
    version readable; the next run finishes, exactly as one full build."""
    lake = Lake(tmp_path / "lake")
    shutil.copytree(trades_generated, lake.root)
    late = sorted(lake.bronze_dir("trades", "transactions").iterdir())[-1]
    late.rename(tmp_path / late.name)
    run_trades(lake)
    before = snapshot(lake, "trades")
    (tmp_path / late.name).rename(late)
    command = [sys.executable, "-m", "pipelines.cli", "--data-dir", str(lake.root), "run", "--domain", "trades"]
    killed = subprocess.run(command, env={**os.environ, "LAKEHOUSE_CRASH_AT": point}, capture_output=True, timeout=300)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    crashed = point.split(":")[1]
    assert_same({crashed: snapshot(lake, "trades")[crashed]}, {crashed: before[crashed]})
    finished = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    assert_same(snapshot(lake, "trades"), trades_snapshot)


def test_a_workbook_from_another_tool_with_bad_cells_is_quarantined_cell_by_cell(tmp_path: Path) -> None:
    """A workbook saved by openpyxl (not by our generator): date cells, an error cell, text in number cells, a
    blank row, a cell beyond the header, a sheet with another header; and a file named .xlsx that is no workbook.
    Each row keeps its file, sheet and row; every row is accounted for."""
    lake = Lake(tmp_path / "lake")
    write_bronze(lake, "clients", "clients.csv", CLIENTS, "trades")
    book = openpyxl.Workbook()
    week = book.active
    week.title = "week 1"
    week.append(HEADER.strip().split(","))
    good = ["W0000001", "0000000a", "buy", dt.datetime(2024, 1, 2, 10, 0, 1), "AAPL", "Apple Inc.", 4, 2.5, 10]
    week.append([*good, "USD", "completed", "online"])
    week.append([*good[:3], "#DIV/0!", *good[4:6], "four", 2.5, 10, "USD", "completed", "online"])
    week.append([])  # a blank row between rows
    week.append(["W0000004", *good[1:3], "02/01/2024 10:00", *good[4:], "USD", "completed", "online", "extra"])
    week.append(["W0000005", *good[1:6], 3, 2.5, 7.5, "USD", "completed", "online"])
    book.create_sheet("notes").append(["note", "by"])
    book["notes"].append(["checked", "ops"])
    lake.bronze_dir("trades", "transactions").mkdir(parents=True)
    book.save(lake.bronze_dir("trades", "transactions") / "2024-01.xlsx")
    write_bronze(lake, "transactions", "2024-02.xlsx", "transaction_id,client_id\n", "trades")
    manifest = run_trades(lake)
    assert manifest.silver["silver_trades.transactions"]["totals"] == {
        "bronze": 7, "loaded": 2, "quarantined": 5, "duplicates": 0
    }  # fmt: skip
    loaded = silver(lake, "transactions", "trades").sort("transaction_id")
    assert loaded.select("transaction_id", "_source_sheet", "_source_line", "amount").rows() == [
        ("W0000001", "week 1", 2, Decimal("10.00")),
        ("W0000005", "week 1", 6, Decimal("7.50")),
    ]
    assert loaded["transaction_date"][0] == dt.datetime(2024, 1, 2, 10, 0, 1)  # a date cell, to the second
    rejected = quarantine(lake, "transactions", "trades").sort("_source_file", "_source_sheet", "_source_line")
    found = {
        (r["_source_file"].rsplit("/", 1)[1], r["_source_sheet"], r["_source_line"]): r["failed_rules"]
        for r in rejected.iter_rows(named=True)
    }
    assert found == {
        ("2024-01.xlsx", "notes", 2): ["file:header"],
        ("2024-01.xlsx", "week 1", 3): ["transaction_date:type", "shares:type"],
        ("2024-01.xlsx", "week 1", 4): ["row:blank"],
        ("2024-01.xlsx", "week 1", 5): ["row:field_count", "transaction_date:type"],  # its cells judged too
        ("2024-02.xlsx", None, 1): ["file:unreadable"],
    }
    error_row = rejected.filter(pl.col("_source_line") == 3).row(0, named=True)
    assert error_row["transaction_date"] == "#DIV/0!" and "#DIV/0!" in error_row["_raw_line"]

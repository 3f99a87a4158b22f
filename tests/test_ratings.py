"""Ratings: agency files as full loads, every invalid row audited with every failing column, and the report
reproduced byte for byte from the source's own files."""

from __future__ import annotations

import json
import os
import shutil
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import contracts
from core.lake import Lake
from generators.ratings import generate
from gold.models import macros_sql
from pipelines.cli import main
from silver.quarantine import part_name
from silver.ratings import agency_of, date_of
from tests.conftest import (
    SHARED,
    SMALL_RATINGS,
    arrivals,
    assert_same,
    deliver,
    gold,
    ledger,
    quarantine,
    run_ratings,
    silver,
    snapshot,
)
from tests.test_generator import digests

REFERENCE = SHARED / "reference" / "customer-ratings"
HEADER = "customer_number,customer_rating,customer_rating_limit,customer_status\r\n"


def drop(lake: Lake, name: str, text: str | bytes, arrived: int | None = None) -> Path:
    """An agency's file landing in bronze (at `arrived`, seconds since the epoch, if given)."""
    path = lake.bronze / "ratings" / "agency_files" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    if arrived is not None:
        os.utime(path, (arrived, arrived))
    return path


def audit(lake: Lake) -> dict[int, tuple[list[str], list[str]]]:
    rows = gold(lake, "file_invalid_rows", "ratings")
    return {r["line"]: (r["invalid_columns"], r["errors"]) for r in rows.iter_rows(named=True)}


def report(lake: Lake) -> list[tuple]:
    return gold(lake, "agg_customer_rating_report", "ratings").sort("customer").rows()


def test_the_reference_report_is_reproduced_byte_for_byte(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    lake = Lake(tmp_path / "lake")
    for path in REFERENCE.glob("Customer Rating Agency *.csv"):
        drop(lake, path.name, path.read_bytes())
    run_ratings(lake)
    assert main(["report", "ratings", "--date", "20250513", "--data-dir", str(lake.root)]) == 0
    written = Path(capsys.readouterr().out.strip())
    assert written == lake.reports / "ratings" / "Customer_Rating_Aggregate_Report_20250513.csv"
    assert written.read_bytes() == (REFERENCE / "Customer_Rating_Aggregate_Report_20250513.csv").read_bytes()
    assert not [p for p in written.parent.iterdir() if p.name.startswith(".")]  # written aside, then renamed


def test_every_rule_and_every_failing_column(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    drop(
        lake,
        "Customer Rating Agency A Inc.csv",
        "\ufeff"
        + HEADER
        + " +12 , -7 ,0, high-value \r\n"  # 2: spaces and signs are fine
        + "2147483647,-2147483648,1,exactly twenty-five chars\r\n"  # 3: the edges of integer and varchar(25)
        + "2147483648,1,-2147483649,x\r\n"  # 4: both out of range
        + "12x,1.5,,twenty-six characters long..\r\n"  # 5: every column fails
        + "\u0661\u0662,\uff11,3,low-value\r\n"  # 6: digits, but not ASCII
        + "\r\n"  # 7: a blank line is no record
        + "abc,1,2\r\n"  # 8: short, and its number is no integer
        + "5,1,2,low-value,EXTRA\r\n"  # 9: long, its values fine
        + '6,1,2,"low, value"\r\n'  # 10: a quoted comma
        + "12,9,9,low-value\r\n",  # 11: customer 12 again
    )
    run_ratings(lake)
    loaded = gold(lake, "customer_ratings", "ratings").sort("source_line")
    assert loaded.select("customer_number", "customer_rating", "customer_rating_limit", "customer_status").rows() == [
        (12, -7, 0, "high-value"),
        (2147483647, -2147483648, 1, "exactly twenty-five chars"),
        (6, 1, 2, "low, value"),
    ]
    assert audit(lake) == {
        4: (["customer_number", "customer_rating_limit"], ["out of the integer range"] * 2),
        5: (
            ["customer_number", "customer_rating", "customer_rating_limit", "customer_status"],
            ["not an integer", "not an integer", "missing", "too long"],
        ),
        6: (["customer_number", "customer_rating"], ["not an integer", "not an integer"]),
        8: (["row", "customer_number"], ["wrong number of fields", "not an integer"]),
        9: (["row"], ["wrong number of fields"]),
        11: (["customer_number"], ["customer already on line 2"]),
    }
    rows = gold(lake, "file_invalid_rows", "ratings")
    assert rows.filter(pl.col("line") == 5)["raw_row"].item() == "12x,1.5,,twenty-six characters long.."
    assert set(rows["table_name"]) == {"customer_rating_agency_a"}
    blank = quarantine(lake, "customer_ratings_history", "ratings").filter(pl.col("_source_line") == 7)
    assert blank["failed_rules"].to_list() == [["row:blank"]]  # accounted for, not audited
    # 3 valid rows (a duplicate's number is a valid integer); numbers not valid on lines 4, 5, 6 and 8: 4 / 7
    assert report(lake) == [("agency_a", 3, -7 - 2147483648 + 1, 1, 4, Decimal("57.14"))]


def test_the_audit_has_the_shape_the_sources_postgresql_users_query(tmp_path: Path) -> None:
    """Issue 13: (file, line, table_name, invalid_columns, error, payload as JSON): one error to triage each row by,
    and its fields by column name, null where the row has none."""
    lake = Lake(tmp_path / "lake")
    drop(
        lake,
        "Agency A 20250513.csv",
        HEADER
        + "1,10,20,low-value\r\n"  # 2: loaded
        + "12a,5,,x\r\n"  # 3: letters in the number, no limit
        + "abc,1\r\n"  # 4: short, and its number is no integer
        + '7,1,"2,x\r\n'  # 5: cannot be split
        + "1,9,9,high-value\r\n",  # 6: customer 1 again
    )
    run_ratings(lake)
    rows = gold(lake, "file_invalid_rows", "ratings").sort("line")
    assert rows.columns == [
        "file", "line", "agency_id", "table_name", "invalid_columns", "errors", "error", "payload", "raw_row",
        "invalid_customer_number", "duplicate", "is_current",
    ]  # fmt: skip
    assert rows.select("line", "invalid_columns", "error").rows() == [
        (3, ["customer_number", "customer_rating_limit"], "invalid customer_number, customer_rating_limit"),
        (4, ["row", "customer_number"], "wrong number of fields"),
        (5, ["row"], "unbalanced quotes"),
        (6, ["customer_number"], "duplicate customer_number"),
    ]
    fields = ("customer_number", "customer_rating", "customer_rating_limit", "customer_status")
    assert [json.loads(payload) for payload in rows["payload"]] == [
        dict(zip(fields, ("12a", "5", None, "x"))),
        dict(zip(fields, ("abc", "1", None, None))),
        dict.fromkeys(fields),
        dict(zip(fields, ("1", "9", "9", "high-value"))),
    ]
    assert rows.schema["payload"] == pl.String  # polars reads the Parquet JSON column as bytes; read_table as text
    assert set(rows["file"]) == {"ratings/agency_files/Agency A 20250513.csv"}
    con = duckdb.connect(str(lake.catalog), read_only=True)
    typed = "select typeof(payload), payload->>'customer_number' from gold_ratings.file_invalid_rows where line = 3"
    assert con.execute(typed).fetchall() == [("JSON", "12a")]
    # a column failing two rules is named once
    con = duckdb.connect()
    con.execute(macros_sql("ratings"))
    rules, columns = ["customer_status:length", "customer_status:pattern"], ["customer_status"] * 2
    assert con.execute("select rating_row_error(?, ?)", [rules, columns]).fetchall() == [("invalid customer_status",)]


def test_an_agencys_newest_file_replaces_all_its_rows(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    drop(lake, "Agency A 20250512.csv", HEADER + "1,10,20,low-value\r\n2,10,20,low-value\r\n")
    run_ratings(lake)
    drop(lake, "2025-05-13/agency-a.csv", HEADER + "3,30,40,high-value\r\n")  # the date in its folder
    drop(lake, "Agency A 2025-05-11.csv", HEADER + "9,90,90,low-value\r\n")  # arrives last, but is older
    run_ratings(lake)
    assert gold(lake, "customer_ratings", "ratings")["customer_number"].to_list() == [3]
    history = silver(lake, "customer_ratings_history", "ratings")
    assert sorted(history["customer_number"]) == [1, 2, 3, 9]  # earlier loads stay as history
    assert sorted(history["load_date"].unique()) == ["2025-05-11", "2025-05-12", "2025-05-13"]
    agency = gold(lake, "dim_agency", "ratings").row(0, named=True)
    assert agency["current_file"] == "ratings/agency_files/2025-05-13/agency-a.csv" and agency["files"] == 3
    assert report(lake) == [("agency_a", 1, 30, 1, 0, 0)]


def test_undated_files_replace_in_order_of_arrival(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    lf = HEADER.replace("\r\n", "\n")  # LF files, as any tool but Excel writes them
    drop(lake, "b/Rating Agency B.csv", lf + "1,1,1,low-value\n", arrived=1_747_000_000)
    drop(lake, "a/Rating Agency B.csv", lf + "2,2,2,low-value\n", arrived=1_747_100_000)  # later
    run_ratings(lake)
    assert gold(lake, "customer_ratings", "ratings")["customer_number"].to_list() == [2]


def test_an_agency_with_only_invalid_rows_or_an_empty_file_reports_zeros(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    drop(lake, "Agency C 20250512.csv", HEADER + "1,1,1,low-value\r\n")
    drop(lake, "Agency C 20250513.csv", HEADER + "x1,1,1,low-value\r\nx2,1,1,low-value\r\n1,1\r\n")
    drop(lake, "Agency D 20250512.csv", HEADER + "1,1,1,low-value\r\n")
    drop(lake, "Agency D 20250513.csv", HEADER)  # a full load of nobody
    run_ratings(lake)
    assert report(lake) == [("agency_c", 0, 0, 0, 2, 100), ("agency_d", 0, 0, 0, 0, 0)]
    assert gold(lake, "customer_ratings", "ratings").is_empty()
    current = gold(lake, "file_invalid_rows", "ratings").filter("is_current")
    assert current["line"].sort().to_list() == [2, 3, 4]


def test_hostile_file_names_never_reach_sql_or_paths_unsanitised(tmp_path: Path, capsys) -> None:
    lake = Lake(tmp_path / "lake")
    names = {
        "Agency X'; drop view gold_ratings.dim_agency; --.csv": "agency_x",
        'Agency "Y" ) or 1=1.csv': "agency_y",
        "AGENCY Ünïcode 2025-05-13.csv": "agency_unicode",
        "ratings from acme.csv": "ratings_from_acme",
        "2025-05-13.csv": "unnamed",
        "Customer Rating Agency A Inc.csv": "agency_a",
        "sub/dir/agency_a 20250514.csv": "agency_a",  # the same agency, newer
    }
    for number, name in enumerate(names, start=1):
        drop(lake, name, HEADER + f"{number},1,1,low-value\r\n", arrived=1_746_000_000)  # 2025-04-30
    run_ratings(lake)
    agencies = gold(lake, "dim_agency", "ratings").sort("agency_id")
    assert agencies["agency_id"].to_list() == sorted(set(names.values()))
    assert gold(lake, "customer_ratings", "ratings").filter(pl.col("agency_id") == "agency_a")[
        "customer_number"
    ].to_list() == [7]
    con = duckdb.connect(str(lake.catalog), read_only=True)
    views = {
        r[0] for r in con.execute("select view_name from duckdb_views() where schema_name = 'gold_ratings'").fetchall()
    }
    assert {f"customer_rating_{a}" for a in names.values()} <= views
    assert con.execute("select customer_number from gold_ratings.customer_rating_agency_x").fetchall() == [(1,)]
    assert con.execute("select count(*) from gold_ratings.dim_agency").fetchall() == [(len(set(names.values())),)]


def test_a_days_files_share_their_folders_quarantine_file_whatever_the_names() -> None:
    table = contracts.get("silver", "ratings", "customer_ratings_history")
    folder = "ratings/agency_files/2025\n04-21 é"  # a newline in a hostile folder's name
    assert part_name(table, f"{folder}/a.csv") == part_name(table, f"{folder}/b\nc.csv")
    assert part_name(table, f"{folder}/a.csv") != part_name(table, "ratings/agency_files/a.csv")


def test_agency_ids_and_dates_from_names() -> None:
    assert agency_of("ratings/agency_files/Customer Rating Agency A Inc.csv") == "agency_a"
    assert agency_of("x/Agency Foo-Bar Ltd 20250513.csv") == "agency_foobar"
    assert agency_of("x/\udcff\udcfeAgency C.csv") == "agency_c"  # bytes that were not UTF-8
    long = agency_of("x/Agency " + "z" * 200 + ".csv")
    assert len(long) == 48 and long.startswith("agency_zzz")
    assert date_of("x/2025-05-13/Agency A.csv").isoformat() == "2025-05-13"
    assert date_of("x/Agency A 20250513 20250514.csv").isoformat() == "2025-05-13"
    assert date_of("x/Agency A 20251399.csv") is None


def test_silver_and_the_audit_catch_exactly_what_the_ledger_says(ratings_lake: Lake) -> None:
    injected = ledger(ratings_lake, "customer_ratings_history", "ratings")
    assert set(injected["kind"]) == {"letters", "overflow", "blank", "short", "long", "long_status"}
    rejected = quarantine(ratings_lake, "customer_ratings_history", "ratings").select(
        pl.col("_source_file").alias("file"), pl.col("_source_line").alias("line"), "disposition", "failed_rules"
    )
    caught = injected.join(rejected, on=["file", "line"], how="full", coalesce=True)
    assert caught["kind"].null_count() == 0 and caught["disposition"].null_count() == 0
    for row in caught.iter_rows(named=True):  # the rule the ledger names, among the row's failed rules
        assert row["detail"] in row["failed_rules"], row
    audited = gold(ratings_lake, "file_invalid_rows", "ratings").select("file", "line", "invalid_customer_number")
    expected = injected.filter(pl.col("kind") != "blank")
    assert sorted(audited.select("file", "line").rows()) == sorted(expected.select("file", "line").rows())
    numbers = expected.filter(pl.col("detail").str.starts_with("customer_number:")).select("file", "line").rows()
    assert sorted(audited.filter("invalid_customer_number").select("file", "line").rows()) == sorted(numbers)


def test_the_report_counts_the_current_files(ratings_lake: Lake) -> None:
    rows = silver(ratings_lake, "customer_ratings_history", "ratings")
    last = rows.filter(pl.col("file_date") == pl.col("file_date").max())
    expected = last.group_by("agency_id").agg(
        pl.len().alias("count"), pl.col("customer_rating").sum().alias("sum"),
        (pl.col("customer_status") == "high-value").sum().alias("high"),
    ).sort("agency_id")  # fmt: skip
    got = gold(ratings_lake, "agg_customer_rating_report", "ratings").sort("customer")
    assert got["customer"].to_list() == [f"agency_{c}" for c in "abcdef"]
    assert got["count_customer_number"].to_list() == expected["count"].to_list()
    assert got["sum_customer_rating"].to_list() == expected["sum"].to_list()
    assert got["high_value_count"].to_list() == expected["high"].to_list()


def test_same_seed_gives_identical_bronze_for_any_number_of_workers(ratings_generated: Path, tmp_path: Path) -> None:
    two = Lake(tmp_path / "two")
    generate(two, SMALL_RATINGS, workers=2)
    assert digests(two.root) == digests(ratings_generated)
    files = sorted((two.bronze / "ratings" / "agency_files").rglob("*.csv"))
    assert len(files) == 30 and files[0].read_bytes().startswith(HEADER.encode())


def test_running_twice_changes_nothing(ratings_lake: Lake, tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    shutil.copytree(ratings_lake.root, lake.root, symlinks=True)
    before = snapshot(lake, "ratings")
    assert run_ratings(lake).status == "up_to_date"
    assert_same(snapshot(lake, "ratings"), before)


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_files_arriving_in_any_order_and_batches_build_what_a_full_build_does(
    data: st.DataObject, ratings_lake: Lake, ratings_generated: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    lake = Lake(tmp_path_factory.mktemp("arrivals"))
    files = sorted(p.relative_to(ratings_generated) for p in (ratings_generated / "bronze").rglob("*.csv"))
    for batch in arrivals(data, files):
        deliver(ratings_generated, lake, batch)
        run_ratings(lake)
    assert_same(snapshot(lake, "ratings"), snapshot(ratings_lake, "ratings"))


def test_report_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["report", "ratings", "--data-dir", str(tmp_path)]) == 2
    assert "lakehouse run --domain ratings" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stopped:
        main(["report", "ratings", "--date", "2025-13-01", "--data-dir", str(tmp_path)])
    assert stopped.value.code == 2
    assert "is not a date like 20250513" in capsys.readouterr().err

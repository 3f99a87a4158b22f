"""Input that used to crash or wedge a run: lone-CR line ends, UTF-16 text, file names that are not UTF-8. Each
gives records or a file refused whole, never a traceback, and a refused file can be replaced or removed."""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl
import pytest

from core import faults
from core.lake import Lake
from tests.conftest import gold, quarantine, run_ratings

HEADER = "customer_number,customer_rating,customer_rating_limit,customer_status"


def folder(lake: Lake) -> Path:
    path = lake.bronze / "ratings" / "agency_files"
    path.mkdir(parents=True, exist_ok=True)
    return path


def refusals(lake: Lake) -> list[tuple[str, int, list[str]]]:
    rows = quarantine(lake, "customer_ratings_history", "ratings").sort("_source_file")
    return rows.select(pl.col("_source_file").str.split("/").list.last(), "_source_line", "failed_rules").rows()


def test_refused_files_are_recorded_and_can_be_replaced_or_removed(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    bronze = folder(lake)
    (bronze / "Agency A 20250513.csv").write_bytes(f"{HEADER}\r1,2,3,low\r4,5,6,high\r".encode())  # old Mac
    (bronze / "Agency B 20250513.csv").write_bytes(f"\ufeff{HEADER}\r\n1,2,3,x\r\n".encode("utf-16-le"))
    latin1 = os.fsencode(bronze) + b"/Agency C caf\xe9 20250513.csv"
    with open(latin1, "wb") as handle:
        handle.write(f"{HEADER}\n1,2,3,x\n".encode())
    manifest = run_ratings(lake)
    assert manifest.silver["silver_ratings.customer_ratings_history"]["totals"] == {
        "bronze": 4, "loaded": 2, "quarantined": 2, "duplicates": 0
    }  # fmt: skip
    assert refusals(lake) == [
        ("Agency B 20250513.csv", 1, ["file:encoding"]),
        ("Agency C caf\\xe9 20250513.csv", 1, ["file:name"]),
    ]
    refused = {f["file"].rsplit("/", 1)[1]: f.get("refused") for f in manifest.inputs}
    assert (
        "UTF-16" in refused["Agency B 20250513.csv"] and "not valid UTF-8" in refused["Agency C caf\\xe9 20250513.csv"]
    )
    assert refused["Agency A 20250513.csv"] is None
    audit = gold(lake, "file_invalid_rows", "ratings").sort("file")
    assert audit["errors"].to_list() == [
        ["UTF-16 or UTF-32 text: save it as CSV UTF-8"],
        ["the file name is not UTF-8: rename it"],
    ]
    assert audit["error"].to_list() == [errors[0] for errors in audit["errors"]]  # a file's one fault, to triage by
    assert run_ratings(lake).status == "up_to_date"  # refused files are not read again while unchanged

    (bronze / "Agency B 20250513.csv").write_bytes(f"{HEADER}\n7,8,9,x\n".encode())  # saved as CSV UTF-8
    os.rename(latin1, bronze / "Agency C cafe 20250513.csv")  # renamed
    manifest = run_ratings(lake)
    assert manifest.silver["silver_ratings.customer_ratings_history"]["totals"] == {
        "bronze": 4, "loaded": 4, "quarantined": 0, "duplicates": 0
    }  # fmt: skip
    assert refusals(lake) == []
    report = gold(lake, "agg_customer_rating_report", "ratings").sort("customer")
    assert report.select("customer", "count_customer_number").rows() == [
        ("agency_a", 2), ("agency_b", 1), ("agency_c", 1)
    ]  # fmt: skip


def test_a_file_the_lake_may_not_read_is_refused_until_its_permissions_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake = Lake(tmp_path / "lake")
    bronze = folder(lake)
    (bronze / "Agency A 20250513.csv").write_text(f"{HEADER}\n1,2,3,x\n")
    (bronze / "Agency B 20250513.csv").write_text(f"{HEADER}\n4,5,6,x\n")
    monkeypatch.setenv(faults.DENY_READS_ENV, "Agency B")  # as EACCES would (the suite runs as root)
    manifest = run_ratings(lake)
    assert refusals(lake) == [("Agency B 20250513.csv", 1, ["file:unreadable"])]
    assert (
        "give the lake read permission"
        in {f["file"]: f.get("refused") for f in manifest.inputs}["ratings/agency_files/Agency B 20250513.csv"]
    )
    assert run_ratings(lake).status == "up_to_date"  # not retried while nothing changed
    monkeypatch.delenv(faults.DENY_READS_ENV)
    os.chmod(bronze / "Agency B 20250513.csv", 0o644)  # the permissions fixed: its ctime moves
    run_ratings(lake)
    assert refusals(lake) == []
    assert gold(lake, "customer_ratings", "ratings")["customer_number"].sort().to_list() == [1, 4]


def test_a_run_deletes_the_temporaries_a_killed_run_left(tmp_path: Path) -> None:
    """A run killed while writing its manifest leaves `.<run>.json.tmp`; manifests never reuse a name, so the next
    run must delete it (found by the crash matrix)."""
    lake = Lake(tmp_path / "lake")
    (folder(lake) / "Agency A 20250513.csv").write_text(f"{HEADER}\n1,2,3,x\n")
    run_ratings(lake)
    leftovers = [
        lake.runs / ".20250101T000000000000Z.json.tmp",
        lake.root / "_state" / "gold" / ".x.json.tmp",
        lake.root / ".lakehouse.duckdb.tmp",
        lake.root / "gold" / "ratings" / ".dim_agency.link",
    ]
    for path in leftovers:
        path.write_text("{")
    run_ratings(lake)
    assert not [path for path in leftovers if path.exists()]

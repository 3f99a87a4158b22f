"""Silver jobs on crafted files: quarantine, duplicates, late parents, conservation, immutability."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from core.errors import LakehouseError
from silver import merging, partitions, staging
from silver.meters import named_reasons
from tests.conftest import assert_same, quarantine, run_lake, silver, snapshot, write_bronze

HEADER = "meter_id,reading_ts,kwh,voltage,current_a,power_factor,frequency_hz\n"
GOOD = "IESCO-000001,2030-01-01 00:00:00,1.000,230.0,4.3,0.95,50.0\n"


def test_bad_rows_are_quarantined_with_file_line_and_every_rule(lake_copy) -> None:
    write_bronze(
        lake_copy,
        "readings",
        "zz_crafted.csv",
        HEADER
        + GOOD
        + GOOD
        + "IESCO-000001,2030-01-01 00:00:00,2.000,230.0,4.3,0.95,50.0\n"
        + "IESCO-000001,2030-01-01 01:00:00,-1.000,999999,4.3,0.95,50.0\n"
        + "IESCO-999999,2030-01-01 02:00:00,1.000,230.0,4.3,0.95,50.0\n"
        + "IESCO-000001,2030-01-01 03:00:00,1.000\n"
        + "\n",
    )
    run_lake(lake_copy)
    rows = quarantine(lake_copy, "readings").filter(pl.col("_source_file") == "meters/readings/zz_crafted.csv")
    found = {r["_source_line"]: (r["disposition"], r["failed_rules"]) for r in rows.iter_rows(named=True)}
    assert found == {
        3: ("duplicate", ["key:duplicate"]),
        4: ("duplicate", ["key:duplicate"]),
        5: ("invalid", ["kwh:range", "voltage:range"]),
        6: ("invalid", ["fk:meters"]),
        7: ("invalid", ["row:field_count"]),
        8: ("invalid", ["row:blank"]),
    }
    assert rows.filter(pl.col("_source_line") == 4)["duplicate_of"][0] == "meters/readings/zz_crafted.csv:2"
    assert rows.filter(pl.col("_source_line") == 4)["_raw_line"][0] == GOOD.strip().replace("1.000", "2.000", 1)
    assert rows.filter(pl.col("_source_line") == 5)["voltage"][0] == "999999"
    kept = silver(lake_copy, "readings").filter(pl.col("_source_file") == "meters/readings/zz_crafted.csv")
    assert kept.select("_source_line", pl.col("kwh").cast(pl.String)).rows() == [(2, "1.000")]


def test_every_bronze_row_is_accounted_for(lake_copy) -> None:
    manifest = run_lake(lake_copy)
    for name, entry in manifest.silver.items():
        totals = entry["totals"]
        assert totals["bronze"] == totals["loaded"] + totals["quarantined"] + totals["duplicates"], name
        assert totals["bronze"] > 0
    files = {f["file"]: f for f in manifest.inputs}
    for path in (lake_copy.bronze / "meters").rglob("*.csv"):
        rel = path.relative_to(lake_copy.bronze).as_posix()
        assert files[rel]["rows"] == path.read_bytes().count(b"\n") - 1
        assert len(files[rel]["sha256"]) == 64 and files[rel]["bytes"] == path.stat().st_size


def test_earliest_file_wins_whatever_order_files_arrive_in(lake_copy, tmp_path) -> None:
    first = HEADER + GOOD
    second = HEADER + GOOD.replace("1.000", "9.000", 1)
    write_bronze(lake_copy, "readings", "zz_b.csv", second)
    run_lake(lake_copy)
    write_bronze(lake_copy, "readings", "zz_a.csv", first)  # arrives later, but sorts first
    run_lake(lake_copy)
    kept = silver(lake_copy, "readings").filter(pl.col("reading_ts").dt.year() == 2030)
    assert kept.select("_source_file", pl.col("kwh").cast(pl.String)).rows() == [("meters/readings/zz_a.csv", "1.000")]
    loser = quarantine(lake_copy, "readings").filter(pl.col("_source_file") == "meters/readings/zz_b.csv")
    assert loser.select("disposition", "duplicate_of", "_raw_line").row(0) == (
        "duplicate",
        "meters/readings/zz_a.csv:2",
        second.splitlines()[1],
    )
    incremental = snapshot(lake_copy)
    run_lake(lake_copy, full_refresh=True)
    assert_same(incremental, snapshot(lake_copy))


def test_rows_waiting_for_a_parent_load_when_it_arrives(lake_copy) -> None:
    orphan = GOOD.replace("IESCO-000001", "IESCO-000777")
    short = "IESCO-000777,2030-01-01 05:00:00,1.000\n"  # misshapen too: it must never load
    write_bronze(lake_copy, "readings", "zz_new_meter.csv", HEADER + orphan + short)
    run_lake(lake_copy)
    waiting = quarantine(lake_copy, "readings").filter(pl.col("meter_id") == "IESCO-000777").sort("_source_line")
    assert waiting["failed_rules"].to_list() == [["fk:meters"], ["row:field_count", "fk:meters"]]
    meters = (lake_copy.bronze_dir("meters", "meters") / "meters.csv").read_text().splitlines()
    new_meter = meters[1].split(",")
    write_bronze(
        lake_copy,
        "meters",
        "meters_late.csv",
        meters[0] + "\n" + meters[1].replace(new_meter[0], "IESCO-000777") + "\n",
    )
    run_lake(lake_copy)
    still = quarantine(lake_copy, "readings").filter(pl.col("meter_id") == "IESCO-000777")
    assert still.select("_source_line", "failed_rules").rows() == [(3, ["row:field_count"])]
    assert silver(lake_copy, "readings").filter(pl.col("meter_id") == "IESCO-000777").height == 1
    incremental = snapshot(lake_copy)
    run_lake(lake_copy, full_refresh=True)
    assert_same(incremental, snapshot(lake_copy))


def test_a_second_run_changes_nothing(lake_copy) -> None:
    run_lake(lake_copy)
    states = {p: p.read_bytes() for p in (lake_copy.root / "_state").rglob("*.json")}
    versions = sorted(p.name for p in (lake_copy.root / "_versions").glob("*/*/*/*"))
    catalog = lake_copy.catalog.stat().st_mtime_ns
    manifest = run_lake(lake_copy)
    assert manifest.status == "up_to_date"
    assert {p: p.read_bytes() for p in (lake_copy.root / "_state").rglob("*.json")} == states
    assert sorted(p.name for p in (lake_copy.root / "_versions").glob("*/*/*/*")) == versions
    assert lake_copy.catalog.stat().st_mtime_ns == catalog


def test_an_ingested_file_may_not_change(lake_copy) -> None:
    run_lake(lake_copy)
    path = next(lake_copy.bronze_dir("meters", "bills").glob("*.csv"))
    path.write_text(path.read_text().replace("BILL-", "BILX-", 1))
    with pytest.raises(LakehouseError, match=f"{path.name} changed after it was ingested"):
        run_lake(lake_copy)
    path.unlink()
    with pytest.raises(LakehouseError, match="was ingested but is gone"):
        run_lake(lake_copy)
    manifest = json.loads(sorted(lake_copy.runs.glob("*.json"))[-1].read_text())
    assert manifest["status"] == "failed" and "is gone" in manifest["error"]


def test_odd_files_are_quarantined_or_empty(lake_copy) -> None:
    write_bronze(lake_copy, "payments", "zz_wrong_header.csv", "id,bill,date,amount,how\n1,2,3,4,5\n6,7,8,9,10\n")
    write_bronze(lake_copy, "payments", "zz_empty.csv", "")
    write_bronze(lake_copy, "payments", "zz_header_only.csv", "payment_id,bill_id,payment_date,amount_paid,method\r\n")
    write_bronze(lake_copy, "payments", ".zz_in_progress.csv", "not,read\n")
    manifest = run_lake(lake_copy)
    rows = quarantine(lake_copy, "payments").filter(pl.col("_source_file").str.contains("zz_"))
    assert rows["failed_rules"].to_list() == [["file:header"], ["file:header"]]
    inputs = {f["file"].rsplit("/", 1)[1]: f for f in manifest.inputs}
    assert inputs["zz_empty.csv"]["rows"] == 0 and inputs["zz_header_only.csv"]["rows"] == 0
    assert not inputs["zz_wrong_header.csv"]["header_ok"]
    assert ".zz_in_progress.csv" not in inputs


def test_months_merged_together_are_still_flagged_month_by_month(lake_copy, monkeypatch) -> None:
    """Small partitions are merged in groups, but a derivation over a whole partition sees one at a time: February's
    first reading is judged from the month's start, not as an outage gap after January's last reading."""
    monkeypatch.setattr(merging, "GROUPS_PER_THREAD", 0.01)  # every new month in one group
    run_lake(lake_copy)
    meters = pl.read_parquet(lake_copy.root / "silver" / "meters" / "meters")
    interval = meters.filter(pl.col("meter_id") == "IESCO-000001")["reading_interval_minutes"][0]
    last_of_january = dt.datetime(2030, 2, 1) - dt.timedelta(minutes=3 * interval)
    write_bronze(
        lake_copy,
        "readings",
        "zz_two_months.csv",
        HEADER
        + GOOD.replace("2030-01-01 00:00:00", f"{last_of_january:%Y-%m-%d %H:%M:%S}")
        + GOOD.replace("2030-01-01", "2030-02-01"),
    )
    run_lake(lake_copy)
    flags = silver(lake_copy, "readings").filter(pl.col("_source_file") == "meters/readings/zz_two_months.csv")
    february = flags.filter(pl.col("reading_ts") == dt.datetime(2030, 2, 1))
    assert len(flags) == 2 and february["anomaly_reason"].fill_null("").str.contains("outage_gap").sum() == 0


def test_rows_staged_on_disk_give_what_rows_staged_in_memory_give(lake_copy, clean_snapshot, monkeypatch) -> None:
    """More new bronze than a run keeps in memory is staged on disk (sorted files, read back by partition and key
    range): the same silver and gold."""
    monkeypatch.setattr(staging, "STAGE_IN_MEMORY_BYTES", 0)
    run_lake(lake_copy)
    assert not list(lake_copy.root.glob("_versions/silver/*/*/*/_staging"))  # removed once merged
    assert_same(snapshot(lake_copy), clean_snapshot)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(st.none() | st.sampled_from(["M-10", "M-9", "M-1", "m-1", "M-1 "]), st.integers(0, 3)), max_size=60
    ),
    st.booleans(),
)
def test_staged_rows_sorted_by_ranks_keep_the_order_of_the_values(rows: list, ranked: bool) -> None:
    """Text columns with few distinct values are sorted by their ranks (staging.sorted_by): the same rows in the same
    order as sorting the text itself, stably, nulls first."""
    frame = pl.DataFrame(rows * 20, schema={"key": pl.String, "n": pl.Int64}, orient="row").with_row_index("line")
    assert frame["key"].n_unique() * 16 <= len(frame)  # few distinct values: ranked, unless the sample is one row
    sample = staging.RANKED_SAMPLE if ranked else 1
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(staging, "RANKED_SAMPLE", sample)
        by_rank = staging.sorted_by(frame, ["key", "n"])
    assert by_rank.equals(frame.sort(["key", "n"], maintain_order=True))


def test_rows_with_new_keys_are_appended_and_a_partition_of_many_files_merged_whole(lake_copy, monkeypatch) -> None:
    """A file whose rows share no key with a partition's rows adds a file to it, the current files hard-linked
    rather than rewritten (a refresh writes what arrived, not its day again); a partition that has gathered
    APPENDED_FILES files is merged whole, into one. Either way the tables equal a full rebuild's."""
    monkeypatch.setattr(partitions, "APPENDED_FILES", 2)
    run_lake(lake_copy)
    header, line = next(lake_copy.bronze_dir("meters", "bills").glob("*.csv")).read_text().splitlines()[:2]

    def files() -> list[Path]:
        return sorted((lake_copy.root / "silver" / "meters" / "bills").resolve().rglob("*.parquet"))

    before = files()
    write_bronze(lake_copy, "bills", "zz_new_1.csv", f"{header}\nBILL-299901-000001{line[line.index(',') :]}\n")
    run_lake(lake_copy)
    appended = files()
    assert len(appended) == len(before) + 1 == 2
    assert [f.stat().st_ino for f in appended[: len(before)]] == [f.stat().st_ino for f in before]
    write_bronze(lake_copy, "bills", "zz_new_2.csv", f"{header}\nBILL-299901-000002{line[line.index(',') :]}\n")
    run_lake(lake_copy)
    assert len(files()) == 1
    assert silver(lake_copy, "bills").filter(pl.col("bill_id").str.starts_with("BILL-299901")).height == 2
    incremental = snapshot(lake_copy)
    run_lake(lake_copy, full_refresh=True)
    assert_same(incremental, snapshot(lake_copy))


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.one_of(st.none(), st.datetimes(dt.datetime(1900, 1, 1), dt.datetime(2100, 12, 31))), max_size=30),
    st.sampled_from(["%Y-%m", "%Y-%m-%d", "%Y", "%d/%m/%Y", "%Y-%m-%d %H", "%Y%%%m"]),
    st.booleans(),
)
def test_partition_names_are_each_rows_time_formatted(times, time_format, as_dates) -> None:
    """Formatted per distinct day where the format names nothing finer (else per row), a row's partition is still its
    own time formatted, a null time's null, for timestamps and dates alike."""
    assume(not (as_dates and "%H" in time_format))  # a date has no hours to format
    column = pl.Series("t", times, dtype=pl.Datetime("us"))
    frame = pl.DataFrame([column.dt.date() if as_dates else column])
    names = frame.select(partitions.partition_names(pl.col("t"), time_format)).to_series()
    assert names.dtype == pl.String
    assert names.to_list() == [None if t is None else t.strftime(time_format) for t in frame.get_column("t").to_list()]


@settings(max_examples=100, deadline=None)
@given(rows=st.lists(st.lists(st.sampled_from([True, False, None]), min_size=3, max_size=3), max_size=20))
def test_anomaly_reasons_are_named_in_order_and_joined(rows: list[list[bool | None]]) -> None:
    """A row's reasons are the names of the conditions that hold (not those false or unknown), in their order,
    joined by ';', and null when none holds: as joining the names row by row gives them."""
    names = ["spike", "zero", "outage_gap"]
    frame = pl.DataFrame([pl.Series(n, [r[i] for r in rows], pl.Boolean) for i, n in enumerate(names)])
    named = frame.select(named_reasons({n: pl.col(n) for n in names})).to_series().to_list()
    expected = [";".join(n for n, holds in zip(names, r) if holds) or None for r in rows]
    assert named == expected

"""A run, a refresh cycle and a reader at once: the lock lets one writer work and turns the other away naming the
holder, and the reader, querying the catalog with DuckDB and the table folders with pandas again and again, only
ever sees whole tables at a published version, without an error."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

import contracts
from core.lake import Lake
from pipelines.catalog import ensure_current
from tests.test_faults_lakes import assert_like, assert_one_line_error, command, reference, run

REPOSITORY = Path(__file__).resolve().parents[1]
T = TypeVar("T")


def test_one_writer_works_the_other_is_turned_away_and_readers_see_whole_tables(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    ref = reference(tmp_path_factory, "payments")
    lake = ref.copy("base", tmp_path / "lake")
    ref.land_late_files(lake)
    ensure_current(lake)  # the copied catalog, repaired, as any command would before reading
    stop = tmp_path / "stop"
    reader = subprocess.Popen(
        [sys.executable, "-c", f"from {__name__} import read_until; read_until({str(lake.root)!r}, {str(stop)!r})"],
        cwd=REPOSITORY,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert reader.stdout.readline() == "reading\n"
    writers = {
        "run": subprocess.Popen(command(lake.root, *run("payments")), stdout=subprocess.PIPE, stderr=subprocess.PIPE),
        "refresh": subprocess.Popen(
            command(lake.root, "refresh", "--once", "--domain", "payments", "--threads", "2"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        ),
    }
    results = {name: _finished(process) for name, process in writers.items()}
    stop.touch()
    seen = json.loads(reader.communicate(timeout=60)[0])

    codes = {name: result.returncode for name, result in results.items()}
    assert sorted(codes.values()) == [0, 3], results
    winner, loser = sorted(codes, key=codes.get)
    holder = f'"pid": {writers[winner].pid}, "command": "lakehouse --data-dir {lake.root} {winner}'
    if loser == "run":
        message = assert_one_line_error(results[loser], 3)
    else:  # the refresh cycle says it in its JSON line
        message = json.loads(results[loser].stdout)["error"]
    assert "another lakehouse command holds the lake" in message and holder in message, message
    assert_like(lake, "payments", ref.tables["full"])

    assert seen["errors"] == [] and seen["passes"] > 1, seen
    published = {name: {len(ref.tables[stage][name]) for stage in ref.tables} for name in ref.tables["full"]}
    for reader_name, counts in seen["counts"].items():
        name = reader_name.split(" ")[0]
        assert set(counts) <= published[name], f"{reader_name} read {counts} rows, published: {published[name]}"


def _finished(process: subprocess.Popen) -> subprocess.CompletedProcess:
    stdout, stderr = process.communicate(timeout=300)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout.decode(), stderr.decode())


def read_until(root: str, stop: str) -> None:
    """The reader process: count every payments table through the catalog (DuckDB) and from its folder (pandas),
    pass after pass until `stop` exists; then print, as JSON, the counts each reader saw and every error."""
    import duckdb
    import pandas as pd

    lake = Lake(Path(root))
    folders = {}
    for table in contracts.tables(domain="payments"):
        folders[table.qualified_name] = lake.table_path(table)
        if table.layer == "silver" and not table.computed:
            folders[f"quarantine_payments.{table.name}"] = lake.quarantine_path(table)
    counts: dict[str, set[int]] = {}
    errors: list[str] = []
    passes = 0
    print("reading", flush=True)
    while not Path(stop).exists():
        passes += 1
        with duckdb.connect(str(lake.catalog), read_only=True) as catalog:
            for name in folders:
                _count(
                    counts,
                    errors,
                    f"{name} by DuckDB",
                    lambda q: catalog.execute(q).fetchone()[0],
                    f"select count(*) from {name}",
                )
        for name, folder in folders.items():
            _count(counts, errors, f"{name} by pandas", lambda path: len(pd.read_parquet(path)), folder)
    print(json.dumps({"passes": passes, "errors": errors, "counts": {k: sorted(v) for k, v in counts.items()}}))


def _count(counts: dict[str, set[int]], errors: list[str], reader: str, count: Callable[[T], int], what: T) -> None:
    try:
        counts.setdefault(reader, set()).add(count(what))
    except Exception as error:  # every error a reader meets is a finding: collected, then asserted away
        errors.append(f"{reader}: {type(error).__name__}: {error}")

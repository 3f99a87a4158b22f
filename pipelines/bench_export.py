"""`make bench` for the PostgreSQL export: a gold table of about 2 M rows exported by `lakehouse export postgres`
(ADBC's binary COPY from DuckDB's Arrow stream) and, into the same throwaway server in the same run, loaded by
`psql \\copy` from CSV. Issue 13 asks the export for at least 1.5x psql's rows/s; the bench says plainly when it
falls short.

Both load into a table created from the contract; psql's has the contract's key from the start (the DDL a user
would write). The export loads, then keys, validates its foreign keys, indexes and analyses its table: the target
is checked like for like (rows in and keyed: `Exported.load_seconds`), and the whole export's ratio is printed
beside it.
The CSV is written by DuckDB beforehand, its time reported apart. Both are timed to the table being complete:
the export's seconds are its own (`Exported.seconds`: building the table aside, not the swap), psql's are the wall
time of its process.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import contracts
from contracts.schema import Table
from core.duck import connect
from core.lake import Lake
from pipelines.bench import PAGE, domain_cli, measure, print_stages, save_report
from pipelines.pg_export import export
from pipelines.pg_server import VERSION, PostgresDsn, server_binaries, throwaway_postgres
from pipelines.pg_types import create_table_sql, identifier

T = TypeVar("T")
DOMAIN, TABLE = "meters", "fact_readings"  # 13 columns: text, integers, a timestamp, a decimal, doubles
METERS_SCALE = 2.5  # the meters generator's scale per bench scale: 250 meters for a year, about 2 M readings
TARGET = 1.5  # the export's rows/s over psql \copy's
PREFIX = "bench_"  # the export's schemas (bench_gold_meters), apart from any other export into the same server
COPY_SCHEMA = "bench_psql_copy"


def bench_export(lake: Lake, scale: float, workers: int) -> dict | None:
    """Build a meters lake, start a throwaway PostgreSQL and compare; None (and one line) when that cannot run."""
    missing = _missing()
    if missing:
        print(f"export: skipped, {missing}")
        return None
    root = lake.root / "_bench"
    scratch = root / f"export-scale-{scale:g}"
    shutil.rmtree(scratch, ignore_errors=True)
    cli = domain_cli(DOMAIN, scale * METERS_SCALE, workers)
    stages = {
        "generate meters": measure(cli(scratch, "generate", DOMAIN)),
        "build meters": measure(cli(scratch, "run", "--domain", DOMAIN)),
    }
    bin_dir = server_binaries()
    with throwaway_postgres(bin_dir) as dsn:
        report = compare(Lake(scratch), dsn, psql_binary(bin_dir), scratch)
    report = {
        "when": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "domain": "export",
        "scale": scale,
        "workers": workers,
        "cpus": os.cpu_count(),
        **report,
        "stages": stages,
    }
    out = root / f"export-{dt.datetime.now():%Y%m%dT%H%M%S}.json"
    save_report(report, out, scratch)
    _print(report, out)
    return report


def compare(lake: Lake, dsn: PostgresDsn, psql: Path, folder: Path) -> dict:
    """Export the lake's gold TABLE into `dsn`, then load the same rows with `psql \\copy` from a CSV written in
    `folder`; both figures and their ratio."""
    table = contracts.get("gold", DOMAIN, TABLE)
    started = time.monotonic()
    results, peak = _with_peak_rss(lambda: export(lake, dsn.uri(), [DOMAIN], select=[TABLE], schema_prefix=PREFIX))
    call_seconds = time.monotonic() - started
    exported = next(r for r in results if r.table == f"{PREFIX}{table.schema}.{TABLE}")
    if exported.status != "exported":
        raise RuntimeError(f"bench: {exported.table} was {exported.status}, not exported: use a fresh database")
    csv = folder / f"{TABLE}.csv"
    csv_seconds = _write_csv(lake, table, csv)
    copied, copy_seconds = _psql_copy(psql, dsn, table, csv)
    if copied != exported.rows:
        raise RuntimeError(f"bench: psql copied {copied:,} rows, the export {exported.rows:,}")
    load_rate, copy_rate = exported.rows / exported.load_seconds, copied / copy_seconds
    export_rate = exported.rows / exported.seconds
    return {
        "table": table.qualified_name,
        "rows": exported.rows,
        "columns": len(table.columns),
        "export": {
            "load_seconds": round(exported.load_seconds, 3),  # rows in and keyed: psql's work, like for like
            "load_rows_per_s": round(load_rate),
            "seconds": round(exported.seconds, 3),  # and its foreign keys validated, indexes, statistics
            "rows_per_s": round(export_rate),
            "call_seconds": round(call_seconds, 2),  # with its parent tables (the foreign keys' dims) and the swap
            "peak_rss_mb": round(peak / 2**20),
        },
        "psql_copy": {
            "seconds": round(copy_seconds, 3),
            "rows_per_s": round(copy_rate),
            "csv_seconds": round(csv_seconds, 2),  # DuckDB writing the CSV, before and apart
        },
        "ratio": round(load_rate / copy_rate, 2),
        "whole_export_ratio": round(export_rate / copy_rate, 2),
        "target_ratio": TARGET,
        "meets_target": load_rate / copy_rate >= TARGET,
    }


def _write_csv(lake: Lake, table: Table, path: Path) -> float:
    """The table's rows as CSV with a header, written by DuckDB; the seconds it took."""
    started = time.monotonic()
    duck = connect(lake, split_views=False)
    try:
        columns = ", ".join(c.name for c in table.columns)
        target = str(path).replace("'", "''")
        duck.execute(f"copy (select {columns} from {table.qualified_name}) to '{target}' (format csv, header)")
    finally:
        duck.close()
    return time.monotonic() - started


def _psql_copy(psql: Path, dsn: PostgresDsn, table: Table, csv: Path) -> tuple[int, float]:
    """Create the table in COPY_SCHEMA from its contract, then time `psql \\copy` filling it: (rows, seconds)."""
    _psql(psql, dsn, f"create schema {identifier(COPY_SCHEMA)}; {create_table_sql(table, COPY_SCHEMA, table.name)}")
    target = f"{identifier(COPY_SCHEMA)}.{identifier(table.name)}"
    path = str(csv).replace("'", "''")
    started = time.monotonic()
    tag = _psql(psql, dsn, f"\\copy {target} from '{path}' with (format csv, header)")
    return int(tag.split()[-1]), time.monotonic() - started  # psql prints "COPY <rows>"


def psql_binary(bin_dir: Path | None) -> Path | None:
    """psql beside the server binaries (Debian's folder), else on PATH."""
    if bin_dir is not None and (bin_dir / "psql").exists():
        return bin_dir / "psql"
    found = shutil.which("psql")
    return Path(found) if found else None


def _missing() -> str | None:
    """What the export bench needs and this machine lacks, said in a few words; None when nothing is missing."""
    if importlib.util.find_spec("adbc_driver_postgresql") is None:
        return "needs the postgres extra (pip install -e '.[postgres]')"
    bin_dir = server_binaries()
    if bin_dir is None:
        return f"needs PostgreSQL {VERSION}'s server binaries (Debian's postgresql package)"
    if psql_binary(bin_dir) is None:
        return "needs psql (Debian's postgresql-client package)"
    return None


def _psql(psql: Path, dsn: PostgresDsn, command: str) -> str:
    """Run one psql command against `dsn`; its output. The password reaches psql only through the passfile."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")} | dsn.env()
    done = subprocess.run(
        [str(psql), "-X", "-v", "ON_ERROR_STOP=1", "-c", command], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"bench: psql failed: {done.stderr.strip()}")
    return done.stdout.strip()


def _with_peak_rss(work: Callable[[], T]) -> tuple[T, int]:
    """Run `work` in this process while a thread samples its resident memory every 50 ms; its result and the peak
    in bytes (this process may have held more before: its own high-water mark would not say what `work` took)."""
    peak, done = [0], threading.Event()

    def sample() -> None:
        while True:
            peak[0] = max(peak[0], int(Path("/proc/self/statm").read_text().split()[1]) * PAGE)
            if done.wait(0.05):
                return

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        result = work()
    finally:
        done.set()
        sampler.join()
    return result, peak[0]


def _print(report: dict, path: Path) -> None:
    ours, copy = report["export"], report["psql_copy"]
    print(
        f"export scale {report['scale']:g}: {report['table']}, {report['rows']:,} rows x {report['columns']} columns "
        f"into a throwaway PostgreSQL {VERSION}, {report['cpus']} CPUs"
    )
    print_stages(report["stages"], 18)
    print(
        f"lakehouse export postgres: rows in and keyed in {ours['load_seconds']:.2f} s, {ours['load_rows_per_s']:,} "
        f"rows/s; with the foreign keys validated, indexes and statistics {ours['seconds']:.2f} s, "
        f"{ours['rows_per_s']:,} rows/s (peak RSS {ours['peak_rss_mb']:,} MB; the whole call, with the dimensions "
        f"and the swap: {ours['call_seconds']:.2f} s)"
    )
    print(
        f"psql \\copy from CSV:       {copy['seconds']:.2f} s, {copy['rows_per_s']:,} rows/s (the CSV written by "
        f"DuckDB in {copy['csv_seconds']:.2f} s, not counted)"
    )
    verdict = "meets" if report["meets_target"] else "BELOW"
    print(
        f"export / psql \\copy, the same rows into a keyed table: {report['ratio']:.2f}x, {verdict} the {TARGET}x "
        f"target (the whole export, which also validates the foreign keys psql's table lacks: "
        f"{report['whole_export_ratio']:.2f}x); written to {path}"
    )

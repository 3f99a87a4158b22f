"""`make bench`'s targets for the whole lake and the command line (issue 15), each beside the floor it is measured
against, in the same run:

- `make pipeline` on the default lake, set-up done: its own commands, each a process, in a scratch lake; each
  domain's share of the run (its tables' seconds). Floor: polars scanning every bronze CSV of
  the lake as text with its contract's casts (`silver_floor`, as the meters and telecom benches use it).
- The command line: `lakehouse --help`, `lakehouse sql "select 1"` and a run with nothing new, each the median of
  five processes. Floors: Python starting (`python -c pass`), and Python starting and asking DuckDB `select 1`.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from core.lake import Lake
from pipelines.bench import measure, print_targets, save_report, silver_floor

DOMAINS = ("meters", "telecom", "payments", "trades", "ratings")
TIMES = 5


def bench_targets(lake: Lake, scale: float, workers: int) -> dict:
    scratch = lake.root / "_bench" / "pipeline"
    shutil.rmtree(scratch, ignore_errors=True)
    cli = [sys.executable, "-m", "pipelines.cli", "--data-dir", str(scratch)]
    steps = {  # the Makefile's
        "generate all": [*cli, "generate", "all"],
        "run": [*cli, "run"],
        "report ratings": [*cli, "report", "ratings"],
    }
    stages = {name: measure(command) for name, command in steps.items()}
    manifest = json.loads(max((scratch / "_runs").glob("*.json")).read_text())
    shares = _shares(manifest)
    pipeline = round(sum(s["seconds"] for s in stages.values()), 2)
    python = _median([sys.executable, "-c", "pass"])
    duckdb = _median([sys.executable, "-c", "import duckdb; duckdb.connect().sql('select 1').fetchall()"])
    command_line = [  # (command, seconds, target, floor, what the floor is)
        ("lakehouse --help", _median([*cli, "--help"]), 0.2, python, "python -c pass"),
        ('lakehouse sql "select 1"', _median([*cli, "sql", "select 1"]), 0.4, duckdb, "python, DuckDB, select 1"),
        ("run with nothing new", _median([*cli, "run"]), 0.4, python, "python -c pass"),
    ]
    report = {
        "when": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "pipeline_seconds": pipeline,
        "pipeline_floor_seconds": round(sum(silver_floor(Lake(scratch), d)[1] for d in DOMAINS), 2),
        "shares": shares,
        "stages": stages,
        "command_line": command_line,
    }
    out = lake.root / "_bench" / f"targets-{dt.datetime.now():%Y%m%dT%H%M%S}.json"
    save_report(report, out, scratch)
    _print(report, out)
    return report


def _shares(manifest: dict) -> dict[str, float]:
    """Each domain's wall seconds in the run, silver and gold (two domains run side by side, so these add up to
    more than the run's wall time)."""
    seconds = manifest["domain_seconds"]
    return {domain: round(sum(seconds.get(domain, {}).values()), 2) for domain in DOMAINS}


def _median(command: list[str]) -> float:
    runs = []
    for _ in range(TIMES):
        started = time.monotonic()
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        runs.append(time.monotonic() - started)
    return round(statistics.median(runs), 3)


def _print(report: dict, path: Path) -> None:
    print(f"make pipeline on the default lake ({report['cpus']} CPUs), each step a process:")
    for name, stage in report["stages"].items():
        print(f"  {name:<20}{stage['seconds']:>7.2f} s  peak RSS {stage['peak_rss_mb']:,} MB")
    shares = ", ".join(f"{domain} {seconds:.2f}" for domain, seconds in report["shares"].items())
    print(f"  the run by domain (wall seconds of its silver and gold, side by side): {shares}")
    pipeline = ("make pipeline, five domains", report["pipeline_seconds"], 15.0, report["pipeline_floor_seconds"],
                "polars scanning the bronze CSV as text, with the casts")  # fmt: skip
    print_targets([pipeline, *report["command_line"]])
    print(f"written to {path}")

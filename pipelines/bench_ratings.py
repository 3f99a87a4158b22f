"""`make bench` for the ratings domain: 1,000 agencies' files for 30 days (1,000 rows each at scale 1, 30 M rows)
generated and loaded, then the next day's files, which must cost what their rows cost rather than the history's."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from pathlib import Path

from core.lake import Lake
from pipelines.bench import domain_cli, measure, print_stages, save_report

AGENCIES, DAYS, CUSTOMERS = 1_000, 30, 1_000


def bench_ratings(lake: Lake, scale: float, workers: int) -> dict:
    root = lake.root / "_bench"
    scratch = root / f"ratings-scale-{scale:g}"
    shutil.rmtree(scratch, ignore_errors=True)
    cli = domain_cli("ratings", scale, workers)
    sizes = ("--agencies", str(AGENCIES), "--customers", str(CUSTOMERS))
    stages = {
        f"generate ({DAYS} days)": measure(cli(scratch, "generate", "ratings", *sizes, "--days", str(DAYS))),
        f"load {DAYS} days": measure(cli(scratch, "run", "--domain", "ratings")),
        "rerun (up to date)": measure(cli(scratch, "run", "--domain", "ratings")),
        "generate a new day": measure(cli(scratch, "generate", "ratings", *sizes, "--days", str(DAYS + 1))),
        "load the new day": measure(cli(scratch, "run", "--domain", "ratings")),
        "report": measure(cli(scratch, "report", "ratings")),
    }
    runs = [json.loads(p.read_text()) for p in sorted((scratch / "_runs").glob("*.json"))]
    for name, manifest in zip([f"load {DAYS} days", "rerun (up to date)", "load the new day"], runs):
        stages[name]["in_process_seconds"] = manifest["durations"]["total"]
    rows = [sum(f["rows"] for f in manifest["inputs"]) for manifest in runs]
    first, new_day = stages[f"load {DAYS} days"]["seconds"], stages["load the new day"]["seconds"]
    report = {
        "when": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "domain": "ratings",
        "scale": scale,
        "files": AGENCIES * DAYS,
        "bronze_rows": rows[0],
        "new_day_rows": rows[-1],
        "workers": workers,
        "cpus": os.cpu_count(),
        "load_rows_per_s": round(rows[0] / first),
        # a day is 1/DAYS of the history: its load should cost about that share of the first load, plus fixed costs
        "new_day_share_of_first_load": round(new_day / first, 3),
        "stages": stages,
    }
    out = root / f"ratings-{dt.datetime.now():%Y%m%dT%H%M%S}.json"
    save_report(report, out, scratch)
    _print(report, out)
    return report


def _print(report: dict, path: Path) -> None:
    print(
        f"ratings scale {report['scale']:g}: {report['files']:,} agency files, {report['bronze_rows']:,} bronze rows, "
        f"{report['workers']} workers on {report['cpus']} CPUs"
    )
    print_stages(report["stages"], 22)
    print(
        f"load: {report['load_rows_per_s']:,} rows/s (target 30 M rows in <= 60 s at <= 3 GiB); the new day "
        f"({report['new_day_rows']:,} rows) took {report['new_day_share_of_first_load']:.1%} of the first load's "
        f"time for 1/{DAYS} of its rows; written to {path}"
    )

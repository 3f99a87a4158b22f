"""`make bench` for the payments domain: a year of daily files generated, cleaned and built, then two days
reprocessed one after the other (`lakehouse run --date`), each as its own `lakehouse` process."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from pathlib import Path

from core.lake import Lake
from pipelines.bench import domain_cli, measure, print_stages, save_report

# The second reprocessing is the steady state: it also deletes the version two runs old (the first finds none).
DAYS = ("2024-06-15", "2024-06-16")


def bench_payments(lake: Lake, scale: float, workers: int) -> dict:
    root = lake.root / "_bench"
    scratch = root / f"payments-scale-{scale:g}"
    shutil.rmtree(scratch, ignore_errors=True)
    cli = domain_cli("payments", scale, workers)
    stages = {
        "generate (a year)": measure(cli(scratch, "generate", "payments")),
        "clean and build": measure(cli(scratch, "run", "--domain", "payments")),
        "rerun (up to date)": measure(cli(scratch, "run", "--domain", "payments")),
        **{f"reprocess {day}": measure(cli(scratch, "run", "--domain", "payments", "--date", day)) for day in DAYS},
    }
    runs = [json.loads(p.read_text()) for p in sorted((scratch / "_runs").glob("*.json"))]
    for name, manifest in zip(list(stages)[1:], runs):
        stages[name]["in_process_seconds"] = manifest["durations"]["total"]
    report = {
        "when": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "domain": "payments",
        "scale": scale,
        "transactions_per_day": round(500 * scale),
        "bronze_rows": sum(f["rows"] for f in runs[0]["inputs"]),
        "workers": workers,
        "cpus": os.cpu_count(),
        "year_seconds": round(stages["generate (a year)"]["seconds"] + stages["clean and build"]["seconds"], 2),
        "stages": stages,
    }
    out = root / f"payments-{dt.datetime.now():%Y%m%dT%H%M%S}.json"
    save_report(report, out, scratch)
    _print(report, out)
    return report


def _print(report: dict, path: Path) -> None:
    print(
        f"payments scale {report['scale']:g}: {report['transactions_per_day']} transactions a day, "
        f"{report['bronze_rows']:,} bronze rows in a year, {report['workers']} workers on {report['cpus']} CPUs"
    )
    print_stages(report["stages"], 24)
    print(f"a year generated, cleaned and built: {report['year_seconds']:.2f} s; written to {path}")

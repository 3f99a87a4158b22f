"""`make bench` for the telecom domain: the full default build, then refresh cycles at two depths of history.

The refresh service's promise is that a cycle costs what the new 5 minutes cost, not what the history costs. So
besides generating and building the default week, the benchmark builds lakes holding 1 and 30 days of history
(ending at 23:30, so that a cycle also rewrites a nearly full day) and times refresh cycles on each (a 5-minute
batch appended, then `lakehouse refresh --once`). A cycle's time is the one the service itself reports (`seconds`
in its JSON line), without the start of the Python process.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import statistics
from pathlib import Path

from core.lake import Lake
from pipelines.bench import domain_cli, measure, print_targets, silver_floor

CYCLES = 3


def bench_telecom(lake: Lake, scale: float, workers: int, history_days: tuple[int, ...] = (1, 30)) -> dict:
    root = lake.root / "_bench"
    stages: dict[str, dict] = {}
    week = root / f"telecom-scale-{scale:g}"
    _cli = domain_cli("telecom", scale, workers)
    shutil.rmtree(week, ignore_errors=True)
    stages["generate (7 days)"] = measure(_cli(week, "generate", "telecom"))
    stages["build (silver + gold)"] = measure(_cli(week, "run", "--domain", "telecom"))
    stages["rerun (up to date)"] = measure(_cli(week, "run", "--domain", "telecom"))
    full_run = json.loads(sorted((week / "_runs").glob("*.json"))[0].read_text())
    bronze_rows = sum(f["rows"] for f in full_run["inputs"])
    stages["cycle after 7 days"] = _cycles(week, _cli)
    floor_rows, floor_seconds = silver_floor(Lake(week), "telecom")
    shutil.rmtree(week, ignore_errors=True)
    for days in history_days:
        deep = root / f"telecom-history-{days}d"
        shutil.rmtree(deep, ignore_errors=True)
        # the history ends at 23:30, so each cycle also rewrites the nearly full day it lands in: the worst time
        measure(_cli(deep, "generate", "telecom", "--days", f"{days - 1 / 48:.6f}"))
        measure(_cli(deep, "run", "--domain", "telecom"))
        stages[f"cycle after {days} days"] = _cycles(deep, _cli)
        shutil.rmtree(deep, ignore_errors=True)
    report = {
        "when": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "domain": "telecom",
        "scale": scale,
        "subscribers": round(20_000 * scale),
        "workers": workers,
        "cpus": os.cpu_count(),
        "bronze_rows": bronze_rows,
        "full_build_seconds": stages["build (silver + gold)"]["seconds"],
        "silver_floor_seconds": round(floor_seconds, 2),
        "stages": stages,
    }
    out = root / f"telecom-{dt.datetime.now():%Y%m%dT%H%M%S}.json"
    out.write_text(json.dumps(report, indent=1))
    _print(report, out)
    return report


def _cycles(lake: Path, cli) -> dict:
    """Append a 5-minute batch and run one refresh cycle, CYCLES times; the median cycle and the worst."""
    reported, wall, peak = [], [], 0
    for _ in range(CYCLES):
        measure(cli(lake, "generate", "telecom", "--minutes", "5"))
        command = cli(lake, "refresh", "--once", "--domain", "telecom")
        result = measure(command)
        last_line = (lake / "_logs" / "refresh.jsonl").read_text().splitlines()[-1]
        reported.append(json.loads(last_line)["seconds"])
        wall.append(result["seconds"])
        peak = max(peak, result["peak_rss_mb"])
    return {
        "seconds": round(statistics.median(reported), 2),
        "worst_seconds": max(reported),
        "process_seconds": round(statistics.median(wall), 2),
        "peak_rss_mb": peak,
    }


def _print(report: dict, path: Path) -> None:
    print(
        f"telecom scale {report['scale']:g}: {report['subscribers']:,} subscribers, {report['bronze_rows']:,} bronze "
        f"rows in the default week, {report['workers']} workers on {report['cpus']} CPUs"
    )
    print(f"{'stage':<26}{'seconds':>9}{'with process start':>20}{'peak RSS MB':>13}")
    for name, r in report["stages"].items():
        print(f"{name:<26}{r['seconds']:>9.2f}{r.get('process_seconds', r['seconds']):>20.2f}{r['peak_rss_mb']:>13,}")
    print(f"full default build: {report['full_build_seconds']:.2f} s; written to {path}")
    stages, rerun = report["stages"], report["stages"]["rerun (up to date)"]["seconds"]
    rows = [
        ("generate a week", stages["generate (7 days)"]["seconds"], 3.0, None, ""),
        ("full build", report["full_build_seconds"], 6.0, report["silver_floor_seconds"],
         "polars scanning the bronze as text, with the casts"),
    ]  # fmt: skip
    cycles = {name: r["seconds"] for name, r in stages.items() if name.startswith("cycle after")}
    rows += [(f"refresh {name}", seconds, 1.0, rerun, "a run with nothing new") for name, seconds in cycles.items()]
    print_targets(rows)
    deepest = [cycles[name] for name in ("cycle after 1 days", "cycle after 30 days") if name in cycles]
    if len(deepest) == 2:
        growth = deepest[1] / deepest[0] - 1
        print(f"refresh after 30 days / after 1 day: {growth:+.0%} (target: within 10 %)")

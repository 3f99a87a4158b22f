"""`make bench`: time each stage of the meters domain in a scratch lake, as a user would run it.

Each stage runs as its own `lakehouse` process; the benchmark samples the resident memory of that process and
all its children (worker processes included) every 50 ms, and reports the peak of their sum. Results are
printed and written to `data/_bench/<timestamp>.json`.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from pipelines.lake import Lake

PAGE = os.sysconf("SC_PAGE_SIZE")


def bench(lake: Lake, scale: float, workers: int) -> dict:
    scratch = lake.root / "_bench" / f"lake-scale-{scale:g}"
    shutil.rmtree(scratch, ignore_errors=True)
    base = [sys.executable, "-m", "pipelines.cli", "--data-dir", str(scratch)]
    stages = {
        "generate": [*base, "generate", "meters", "--scale", str(scale), "--workers", str(workers)],
        "silver": [*base, "run", "--layer", "silver"],
        "gold": [*base, "run", "--layer", "gold"],
        "rerun (up to date)": [*base, "run"],
    }
    results = {name: _measure(command) for name, command in stages.items()}
    bronze_bytes = sum(p.stat().st_size for p in (scratch / "bronze").rglob("*.csv"))
    manifests = sorted((scratch / "_runs").glob("*.json"))
    silver_run, gold_run = (json.loads(p.read_text()) for p in manifests[:2])
    bronze_rows = sum(f["rows"] for f in silver_run["inputs"])
    gold_rows = sum(entry.get("rows") or 0 for entry in gold_run["gold"].values())
    gold_bytes = sum(p.stat().st_size for p in (scratch / "gold").rglob("*.parquet"))
    volumes = {
        "generate": (bronze_rows, bronze_bytes),
        "silver": (bronze_rows, bronze_bytes),
        "gold": (gold_rows, gold_bytes),
        "rerun (up to date)": (0, 0),
    }
    for name, (rows, size) in volumes.items():
        seconds = results[name]["seconds"]
        results[name] |= {"rows": rows, "rows_per_s": round(rows / seconds), "mb_per_s": round(size / 1e6 / seconds, 1)}
    end_to_end = sum(results[s]["seconds"] for s in ("generate", "silver", "gold"))
    report = {
        "when": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "scale": scale,
        "meters": round(100 * scale),
        "workers": workers,
        "cpus": os.cpu_count(),
        "bronze_rows": bronze_rows,
        "bronze_mb": round(bronze_bytes / 1e6, 1),
        "end_to_end_seconds": round(end_to_end, 2),
        "peak_rss_mb": max(r["peak_rss_mb"] for r in results.values()),
        "stages": results,
    }
    out = lake.root / "_bench" / f"{dt.datetime.now():%Y%m%dT%H%M%S}.json"
    out.write_text(json.dumps(report, indent=1))
    _print(report, out)
    shutil.rmtree(scratch, ignore_errors=True)
    return report


def _measure(command: list[str]) -> dict:
    started = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak = 0
    while process.poll() is None:
        peak = max(peak, _tree_rss(process.pid))
        time.sleep(0.05)
    seconds = time.monotonic() - started
    if process.returncode != 0:
        raise SystemExit(f"bench: {' '.join(command[3:])} failed:\n{process.stderr.read()}")
    return {"seconds": round(seconds, 2), "peak_rss_mb": round(peak / 2**20)}


def _tree_rss(root: int) -> int:
    """Resident bytes of a process and all its descendants (Linux /proc)."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            parents[int(entry.name)] = int(fields[1])
            rss[int(entry.name)] = int(fields[21]) * PAGE
        except (OSError, ValueError, IndexError):
            continue
    tree, frontier = {root}, {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - tree
        tree |= frontier
    return sum(rss.get(pid, 0) for pid in tree)


def _print(report: dict, path: Path) -> None:
    print(
        f"scale {report['scale']:g}: {report['meters']:,} meters, {report['bronze_rows']:,} bronze rows, "
        f"{report['bronze_mb']:,} MB of CSV, {report['workers']} workers on {report['cpus']} CPUs"
    )
    print(f"{'stage':<20}{'seconds':>9}{'rows/s':>13}{'MB/s':>8}{'peak RSS MB':>13}")
    for name, r in report["stages"].items():
        print(f"{name:<20}{r['seconds']:>9.2f}{r['rows_per_s']:>13,}{r['mb_per_s']:>8.1f}{r['peak_rss_mb']:>13,}")
    print(f"end to end (generate + silver + gold): {report['end_to_end_seconds']:.2f} s; written to {path}")

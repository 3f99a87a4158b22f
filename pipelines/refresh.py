"""The refresh service: `lakehouse refresh --every 5m` brings every layer up to date, cycle after cycle.

Each cycle is one ordinary run (new bronze files into silver, stale gold partitions rebuilt) and prints one JSON
line: files and rows in, loaded, quarantined, duplicates, gold partitions and rows rewritten, duration and data
lag (how long the oldest newly ingested file waited until its data was published). A bad file is quarantined like
any other; a failed cycle is logged and tried again at the next one. SIGTERM or Ctrl-C stops the service at once:
tables are published by an atomic rename, so stopping mid-cycle leaves the last published versions, and the next
start finishes the work.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import signal
import time
import traceback
from dataclasses import replace
from pathlib import Path
from typing import Any

from pipelines.errors import LakehouseError
from pipelines.lake import Lake
from pipelines.run import Manifest, RunOptions, resolve_domains, run

_UNITS = {"s": 1, "m": 60, "h": 3600}


def parse_interval(text: str) -> float:
    """'5m' -> 300.0; also '30s', '1h' or plain seconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", text)
    if not match or float(match.group(1)) <= 0:
        raise LakehouseError(f"--every {text!r}: give a positive interval such as 30s, 5m or 1h")
    return float(match.group(1)) * _UNITS[match.group(2) or "s"]


def serve(lake: Lake, options: RunOptions, every: float, once: bool, command: str) -> int:
    """Run cycles until stopped (or one, with `once`); returns the exit code."""
    resolve_domains(options.domains)  # a mistake in the options stops the service before it starts
    signal.signal(signal.SIGTERM, _interrupt)
    journal = lake.logs / "refresh.jsonl"
    cycle = 0
    try:
        while True:
            cycle += 1
            started = time.monotonic()
            entry = _cycle(lake, replace(options, quiet=True), command, cycle)
            _emit(journal, entry)
            if once:
                return 0 if entry["status"] != "failed" else 1
            time.sleep(max(0.0, every - (time.monotonic() - started)))
    except KeyboardInterrupt:
        _emit(journal, _entry("refresh_stopped", cycle=cycle, message="stopped by signal; published tables intact"))
        return 0
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _cycle(lake: Lake, options: RunOptions, command: str, cycle: int) -> dict[str, Any]:
    started = time.monotonic()
    try:
        manifest = run(lake, options, command)
    except LakehouseError as error:
        return _entry("refresh_cycle", cycle=cycle, status="failed", error=str(error), **_seconds(started))
    except Exception as error:  # a service outlives a bug in one cycle; the trace goes to the log
        trace = traceback.format_exception_only(error)[-1].strip()
        return _entry("refresh_cycle", cycle=cycle, status="failed", error=trace, **_seconds(started))
    return _entry("refresh_cycle", cycle=cycle, **_counts(manifest), **_seconds(started))


def _counts(manifest: Manifest) -> dict[str, Any]:
    silver = [m for m in manifest.silver.values() if m["status"] == "built"]
    gold = [m for m in manifest.gold.values() if m["status"] == "built"]
    now = time.time()
    waited = [now - f["mtime_ns"] / 1e9 for f in manifest.inputs]
    return {
        "status": manifest.status,
        "run_id": manifest.run_id,
        "files": len(manifest.inputs),
        "rows_in": sum(f["rows"] for f in manifest.inputs),
        "loaded": sum(m["changes"]["loaded"] for m in silver),
        "quarantined": sum(m["changes"]["quarantined"] for m in silver),
        "duplicates": sum(m["changes"]["duplicates"] for m in silver),
        "gold_models_built": len(gold),
        "gold_partitions_rebuilt": sum(m["partitions_rebuilt"] for m in gold),
        "gold_rows_written": sum(m["rows_written"] for m in gold),
        "data_lag_seconds": round(max(waited), 3) if waited else None,
    }


def _seconds(started: float) -> dict[str, float]:
    return {"seconds": round(time.monotonic() - started, 3)}


def _entry(event: str, **fields: Any) -> dict[str, Any]:
    return {"ts": dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds"), "event": event, **fields}


def _emit(journal: Path, entry: dict[str, Any]) -> None:
    line = json.dumps(entry, default=str)
    print(line, flush=True)
    journal.parent.mkdir(parents=True, exist_ok=True)
    with journal.open("a") as log:
        log.write(line + "\n")


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt

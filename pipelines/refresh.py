"""The refresh service: `lakehouse refresh --every 5m` brings every layer up to date, cycle after cycle.

Each cycle is one ordinary run (new bronze files into silver, stale gold partitions rebuilt) and prints one JSON
line: files and rows in, loaded, quarantined, duplicates, gold partitions and rows rewritten, duration and data
lag (how long the oldest newly ingested file waited until its data was published). A bad file is quarantined like
any other; a failed cycle is logged and tried again at the next one (a domain that fails, say on a changed bronze
file, fails alone: the cycle still publishes the others). SIGTERM or Ctrl-C stops the service at once: tables are
published by an atomic rename, so stopping mid-cycle leaves the last published versions, and the next start
finishes the work. `--once` exits as `lakehouse run` would: 3 on a locked lake, 2, 4 or 5 for a failed domain.
"""

from __future__ import annotations

import datetime as dt
import json
import signal
import time
import traceback
from dataclasses import replace
from pathlib import Path
from typing import Any

from core.errors import LakehouseError
from core.lake import Lake
from pipelines.history import run_counts, trim_journal
from pipelines.manifest import Manifest, RunFailedError
from pipelines.run import RunOptions, run
from pipelines.selection import resolve_domains


def serve(lake: Lake, options: RunOptions, every: float, once: bool, command: str) -> int:
    """Run cycles `every` seconds until stopped (or one, with `once`); returns the exit code: 0 when stopped, or
    with `once` the cycle's own."""
    resolve_domains(options.domains)  # a mistake in the options stops the service before it starts
    _load()
    signal.signal(signal.SIGTERM, _interrupt)
    journal = lake.logs / "refresh.jsonl"
    cycle = 0
    try:
        while True:
            cycle += 1
            started = time.monotonic()
            entry, code = _cycle(lake, replace(options, quiet=True), command, cycle)
            _emit(journal, entry)
            trim_journal(journal)
            if once:
                return code
            time.sleep(max(0.0, every - (time.monotonic() - started)))
    except KeyboardInterrupt:
        _emit(journal, _entry("refresh_stopped", cycle=cycle, message="stopped by signal; published tables intact"))
        return 0
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _load() -> None:
    """Load at start what every cycle uses: a run imports polars, DuckDB, the silver jobs and the gold builder where
    it uses them (a command that needs none starts at once), and the models' SQL is parsed once per process; a
    service pays for that once, not in its first cycle."""
    import gold.build  # noqa: F401
    import silver.job  # noqa: F401
    import silver.jobs  # noqa: F401
    from gold.models import models

    models()


def _cycle(lake: Lake, options: RunOptions, command: str, cycle: int) -> tuple[dict[str, Any], int]:
    """One run: its JSON line and its exit code. A run in which some domains failed still reports what the others
    did."""
    started = time.monotonic()
    try:
        fields, code = _counts(run(lake, options, command)), 0
    except RunFailedError as error:
        fields, code = {**_counts(error.manifest), "error": str(error)}, error.exit_code
    except LakehouseError as error:
        fields, code = {"status": "failed", "error": str(error)}, error.exit_code
    except Exception as error:  # a service outlives a bug in one cycle; the trace goes to the log
        fields, code = {"status": "failed", "error": traceback.format_exception_only(error)[-1].strip()}, 1
    return _entry("refresh_cycle", cycle=cycle, **fields, **_seconds(started)), code


def _counts(manifest: Manifest) -> dict[str, Any]:
    gold = [m for m in manifest.gold.values() if m["status"] == "built"]
    now = time.time()
    waited = [now - f["mtime_ns"] / 1e9 for f in manifest.inputs]
    return {
        "status": manifest.status,
        "run_id": manifest.run_id,
        **run_counts(vars(manifest)),
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

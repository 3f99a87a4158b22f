"""Run history: what `lakehouse history` lists, and how much of it the lake keeps.

Every run leaves a manifest (`_runs/<run-id>.json`) and a log (`_logs/<run-id>.jsonl`), every generator run a log
(`_logs/generate-<id>.jsonl`), and the refresh service a line per cycle (`_logs/refresh.jsonl`). A refresh every
5 minutes alone leaves 288 runs a day, so history is pruned at the end of every run: of each kind, the newest
KEEP_RUNS and none older than KEEP_DAYS days, whichever keeps fewer. The lake then holds a bounded history
whatever the schedule: a month of daily runs, or the last three or four days of a 5-minute refresh. The refresh
service trims its journal by the same rule, line by line, after each cycle.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import contracts
from core.lake import Lake

KEEP_RUNS = 1_000
KEEP_DAYS = 30
RUN_ID_FORMAT = "%Y%m%dT%H%M%S%fZ"
# `<run-id>.json`, `<run-id>.jsonl` or `<kind>-<run-id>.jsonl`; any other file (the refresh journal, the SQL shell's
# history) is not a run's
_RUN_FILE = re.compile(r"(?:(?P<kind>[a-z_]+)-)?(?P<run_id>[0-9]{8}T[0-9]{12}Z)\.(?P<suffix>jsonl?)")


def prune(lake: Lake, now: dt.datetime | None = None) -> int:
    """Delete the manifests and logs beyond KEEP_RUNS and KEEP_DAYS of each kind; returns how many."""
    cutoff = (now or dt.datetime.now(dt.timezone.utc)) - dt.timedelta(days=KEEP_DAYS)
    kinds: dict[tuple[Path, str | None, str], list[tuple[str, Path]]] = defaultdict(list)
    for folder in (lake.runs, lake.logs):
        for path in folder.iterdir() if folder.is_dir() else ():
            match = _RUN_FILE.fullmatch(path.name)
            if match:
                kinds[(folder, match["kind"], match["suffix"])].append((match["run_id"], path))
    doomed = []
    for files in kinds.values():
        files.sort()
        doomed += [
            path for i, (run_id, path) in enumerate(files) if i < len(files) - KEEP_RUNS or _started(run_id) < cutoff
        ]
    for path in doomed:
        path.unlink(missing_ok=True)
    return len(doomed)


def trim_journal(journal: Path, now: dt.datetime | None = None) -> None:
    """Keep the journal's newest KEEP_RUNS lines and none older than KEEP_DAYS days (each line has its `ts`).
    Rewritten aside and renamed into place, and only when a line must go, which its first line tells."""
    lines = journal.read_text().splitlines(keepends=True) if journal.exists() else []
    cutoff = (now or dt.datetime.now(dt.timezone.utc)) - dt.timedelta(days=KEEP_DAYS)
    if not lines or (len(lines) <= KEEP_RUNS and _stamped(lines[0]) >= cutoff):
        return
    kept = [line for line in lines[-KEEP_RUNS:] if _stamped(line) >= cutoff]
    aside = journal.with_name(f".{journal.name}.tmp")
    aside.write_text("".join(kept))
    os.replace(aside, journal)


def recent_runs(lake: Lake, limit: int) -> list[dict[str, Any]]:
    """The newest `limit` runs, newest first: id, status, seconds, what they took in and what became of it."""
    paths = sorted(p for p in lake.runs.glob("*.json") if _RUN_FILE.fullmatch(p.name))[-limit:]
    runs = []
    for path in reversed(paths):
        manifest = json.loads(path.read_text())
        failed = [d for d, entry in manifest.get("domains", {}).items() if entry["status"] == "failed"]
        runs.append(
            {
                "run_id": manifest["run_id"],
                "status": manifest["status"],
                "seconds": manifest["durations"].get("total"),
                **run_counts(manifest),
                "failed_domains": ", ".join(failed) or None,
                "command": manifest["command"],
            }
        )
    return runs


def run_counts(manifest: Mapping[str, Any]) -> dict[str, int]:
    """What a run took in from bronze (files, rows) and what became of those rows: loaded, quarantined,
    duplicates. Computed tables are left out: their rows come from silver, not from bronze."""
    computed = {t.qualified_name for t in contracts.tables("silver") if t.computed}
    built = [e for name, e in manifest["silver"].items() if e["status"] == "built" and name not in computed]
    return {
        "files": len(manifest["inputs"]),
        "rows_in": sum(f["rows"] for f in manifest["inputs"]),
        **{kind: sum(e["changes"][kind] for e in built) for kind in ("loaded", "quarantined", "duplicates")},
    }


def _started(run_id: str) -> dt.datetime:
    return dt.datetime.strptime(run_id, RUN_ID_FORMAT).replace(tzinfo=dt.timezone.utc)


def _stamped(line: str) -> dt.datetime:
    """When a journal line was written; a line cut short by a crash counts as oldest, so the next trim drops it."""
    try:
        return dt.datetime.fromisoformat(json.loads(line)["ts"])
    except (ValueError, KeyError, TypeError):
        return dt.datetime.min.replace(tzinfo=dt.timezone.utc)

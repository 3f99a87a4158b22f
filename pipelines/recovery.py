"""The first step of every run, under the lake lock: whatever a run killed at any moment left, repaired, so that the
last published version of every table is what readers see and what this run builds on."""

from __future__ import annotations

import shutil

import contracts
from core.lake import Lake
from core.store import TableStore


def recover(lake: Lake) -> None:
    """Finish what a crashed run left: point stable paths at committed versions, delete uncommitted ones and the
    temporary files of atomic writes it did not finish (a manifest's never has the same name twice)."""
    for table in contracts.tables():
        store = TableStore(lake, table)
        state = store.state()
        if state is not None:
            store.repair_links()
        store.collect_garbage(keep_previous=state.get("previous_version") if state else None)
    shutil.rmtree(lake.tmp, ignore_errors=True)
    # Under the lake lock no write of these is under way: a hidden one is a killed run's (bronze's are the
    # producers' own, and are left alone).
    for folder in (lake.runs, lake.root / "_state", lake.unchanged, lake.root / "silver", lake.root / "gold"):
        for leftover in folder.rglob(".*") if folder.is_dir() else ():
            if leftover.name.endswith((".tmp", ".link")):
                leftover.unlink(missing_ok=True)
    lake.catalog.with_name(f".{lake.catalog.name}.tmp").unlink(missing_ok=True)

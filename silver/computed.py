"""What the jobs of computed silver tables share: publishing a checked version and saying what it changed."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from core.checks import Failure
from core.errors import CheckFailedError
from core.plan import Plan
from core.store import TableStore
from silver.result import SilverResult


def refuse(store: TableStore, failures: list[Failure]) -> None:
    """Stop before publishing a version that breaks its contract (a bug: the inputs were checked in silver)."""
    if failures:
        found = "; ".join(f"{f.check} ({f.offending})" for f in failures)
        raise CheckFailedError(
            f"{store.table.qualified_name} failed its checks: {found}; the previous version stays current; please "
            "report this as a bug"
        )


def publish(
    store: TableStore,
    version_dir: Path,
    run_id: str,
    previous: dict[str, Any] | None,
    work: Plan,
    partitions: dict[str, dict[str, Any]],
    started: float,
    **facts: Any,
) -> SilverResult:
    """Publish a computed table's version (its state also keeps the job's own `facts`); its result, with how many
    rows it has now and partitions it rewrote."""
    total = sum(p["rows"] for p in partitions.values())
    store.publish(
        version_dir,
        {
            **facts,
            "run_id": run_id,
            "previous_version": previous["version"] if previous else None,
            "fingerprint": work.fingerprint,
            "input_partitions": work.input_partitions,
            "partitions": partitions,
            "rows": {"loaded": total},
        },
    )
    before = previous["rows"]["loaded"] if previous else 0
    rebuilt = sum(1 for p in partitions.values() if p["version"] == run_id)
    return SilverResult(
        store.table,
        "built",
        run_id,
        totals={"loaded": total},
        changes={"loaded": total - before, "partitions_rebuilt": rebuilt},
        seconds=round(time.monotonic() - started, 3),
    )

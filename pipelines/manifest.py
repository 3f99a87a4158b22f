"""The manifest of a run (`data/_runs/<run-id>.json`): what it read, what it built, and how each domain ended.

Domains share nothing but the lake, so one domain's failure is recorded against it alone: the manifest says which
domains succeeded, were up to date or failed (at which stage, why, and the cheapest repair), and the run's error
names every failed domain.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import contracts
from core import logs
from core.errors import LakehouseError

T = TypeVar("T")


@dataclass
class Manifest:
    run_id: str
    command: str
    data_dir: str
    options: dict[str, Any]
    started_at: str = field(default_factory=lambda: now())
    finished_at: str | None = None
    status: str = "running"
    error: str | None = None
    domains: dict[str, Any] = field(default_factory=dict)  # domain -> status, and what failed and how to repair it
    inputs: list[dict[str, Any]] = field(default_factory=list)
    silver: dict[str, Any] = field(default_factory=dict)
    gold: dict[str, Any] = field(default_factory=dict)
    durations: dict[str, float] = field(default_factory=dict)  # stage -> wall seconds
    # domain -> stage -> wall seconds (domains run side by side, so these overlap)
    domain_seconds: dict[str, dict[str, float]] = field(default_factory=dict)
    outputs: list[dict[str, Any]] = field(default_factory=list)


class RunFailedError(LakehouseError):
    """Some domains failed (the others ran to completion): exits as the first failure would have on its own."""

    def __init__(self, message: str, exit_code: int, manifest: Manifest):
        super().__init__(message)
        self.exit_code = exit_code
        self.manifest = manifest


def domain_failed(
    manifest: Manifest, domain: str, stage: str, error: LakehouseError, repair: str | None = None
) -> None:
    """Record that `domain` failed at `stage` (silver or gold); its later stages are skipped, other domains go on."""
    manifest.domains[domain] = {
        "status": "failed",
        "stage": stage,
        "error": str(error),
        "exit_code": error.exit_code,
        "repair": repair,
    }
    logs.event(
        "domain_failed",
        f"error: domain {domain} failed in {stage}; the other domains go on",
        logging.ERROR,
        domain=domain,
        error=str(error),
        repair=repair,
    )


def conclude(manifest: Manifest, domains: list[str]) -> None:
    """Each domain's status, in domain order, and the run's: failed, naming each failed domain, if any did."""
    domain_of = {t.qualified_name: t.domain for t in contracts.tables()}
    entries = [(domain_of[name], e["status"]) for name, e in (*manifest.silver.items(), *manifest.gold.items())]
    manifest.domains = {
        d: manifest.domains.get(d) or {"status": "succeeded" if (d, "built") in entries else "up_to_date"}
        for d in domains
    }
    failed = {d: e for d, e in manifest.domains.items() if e["status"] == "failed"}
    if failed:
        others = [d for d in domains if d not in failed]
        message = "; ".join(_failure(d, e, len(domains) > 1) for d, e in failed.items())
        message += f" (the other domains ran to completion: {', '.join(others)})" if others else ""
        raise RunFailedError(message, next(iter(failed.values()))["exit_code"], manifest)
    statuses = {e["status"] for e in manifest.domains.values()}
    manifest.status = "succeeded" if "succeeded" in statuses else "up_to_date"


def _failure(domain: str, entry: dict[str, Any], named: bool) -> str:
    """The domain's error and repair; `named`: prefixed with the domain, when the run had several."""
    repair = f"; repair: `{entry['repair']}`" if entry["repair"] else ""
    return f"{f'domain {domain} failed: ' if named else ''}{entry['error']}{repair}"


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")


def timed(durations: dict[str, float], stage: str, work: Callable[[], T]) -> T:
    """`work()`, its wall seconds recorded as `durations[stage]` even if it fails."""
    started = time.monotonic()
    try:
        return work()
    finally:
        durations[stage] = round(time.monotonic() - started, 3)

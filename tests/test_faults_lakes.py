"""What the fault tests share (this module holds no tests): `lakehouse` in a subprocess, the one-line error every
fault must end in, and a tiny lake of each domain made by the command line without interruption, once per session:
what a faulty route must reach, and how long each command took (the window in which the crash tests kill)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl
import pytest

from core.lake import Lake
from tests.conftest import assert_same, snapshot

DOMAINS = ("meters", "telecom", "payments", "trades", "ratings")
# Small enough that each command takes about a second; dirty at the generators' default rates.
GENERATE = {
    "meters": ["--meters", "4", "--start", "2024-01-01", "--end", "2024-03-31", "--seed", "7"],
    "telecom": ["--subscribers", "200", "--start", "2024-01-01T20:00", "--days", "0.25", "--seed", "3"],
    "payments": ["--start", "2024-01-01", "--end", "2024-01-06", "--per-day", "30", "--customers", "20", "--seed", "5"],
    "trades": ["--clients", "12", "--transactions", "400", "--start", "2023-11-01", "--end", "2024-03-31"]
    + ["--workbook-every", "3", "--seed", "11"],
    "ratings": ["--agencies", "3", "--days", "4", "--customers", "20", "--start", "2025-05-09", "--seed", "13"],
}
# The bronze files that land after the first build: the work of the next refresh cycle.
LATE = {
    "meters": "bronze/meters/*/*_2024-03_*.csv",
    "telecom": "bronze/telecom/*/20240102T*.csv",
    "payments": "bronze/payments/transactions/date=2024-01-0[56]/*.csv",
    "trades": "bronze/trades/transactions/transactions_2024-03.csv",
    "ratings": "bronze/ratings/agency_files/2025-05-12/*.csv",
}


def command(root: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "pipelines.cli", "--data-dir", str(root), *args]


def lakehouse(root: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(command(root, *args), capture_output=True, text=True, timeout=timeout)


def generate(domain: str) -> list[str]:
    """The arguments that generate the domain's tiny bronze."""
    return ["generate", domain, *GENERATE[domain], "--workers", "1"]


def run(domain: str, *options: str) -> list[str]:
    return ["run", "--domain", domain, "--threads", "2", *options]


def succeed(root: Path, *args: str) -> float:
    """Run a command that must succeed; returns how long it took."""
    started = time.monotonic()
    result = lakehouse(root, *args)
    assert result.returncode == 0, result.stderr
    return time.monotonic() - started


@contextmanager
def mounted(where: Path, *arguments: str) -> Iterator[Path]:
    """`mount *arguments where` for the duration, then unmount it; the test is skipped where mounting is impossible
    (it needs root, with CAP_SYS_ADMIN in a container)."""
    result = subprocess.run(["mount", *arguments, str(where)], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a file system here: {result.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "--lazy", str(where)], check=True)


def leftover_versions(lake: Lake) -> list[Path]:
    """Table versions that no committed state names, as current or as the one kept for readers of the previous
    run: what a crash left and the next run failed to delete."""
    referenced = set()
    for state in (lake.root / "_state").rglob("*.json"):
        payload = json.loads(state.read_text())
        referenced |= {payload["version"], payload.get("previous_version")}
    return [path for path in (lake.root / "_versions").glob("*/*/*/*") if path.name not in referenced]


def assert_like(lake: Lake, domain: str, tables: dict[str, pl.DataFrame]) -> None:
    """The lake holds the reference's tables, its catalog answers for each, and no fault left anything behind (a
    version no state names, a hidden temporary, the scratch folder)."""
    assert_same(snapshot(lake, domain), tables)
    with duckdb.connect(str(lake.catalog), read_only=True) as catalog:
        for name, frame in tables.items():
            assert catalog.execute(f"select count(*) from {name}").fetchone() == (frame.height,), name
    hidden = sorted(str(p.relative_to(lake.root)) for p in lake.root.rglob(".*"))
    assert (leftover_versions(lake), hidden, lake.tmp.exists()) == ([], [], False)


def assert_one_line_error(result: subprocess.CompletedProcess, code: int | None = None) -> str:
    """The command failed (with `code`, if given) and said why in one line, its last, without a traceback (a run's
    progress lines may come before it); returns that line."""
    assert "Traceback" not in result.stderr and "Logging error" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("lakehouse: error: ")]
    assert len(errors) == 1 and result.stderr.rstrip().endswith(errors[0]), result.stderr
    assert result.returncode == code if code is not None else result.returncode not in (0, 1), result.stderr
    return errors[0]


def park(root: Path, pattern: str, parked: Path) -> Path:
    """Move the files matching `pattern` (relative to the lake root) to `parked`, as if they had not landed yet;
    returns `parked`."""
    for path in root.glob(pattern):
        target = parked / path.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        path.rename(target)
    return parked


def deliver(parked: Path, root: Path) -> None:
    """Put parked files in place, as a producer drops them."""
    for path in [p for p in parked.rglob("*") if p.is_file()]:
        target = root / path.relative_to(parked)
        target.parent.mkdir(parents=True, exist_ok=True)
        path.rename(target)
    shutil.rmtree(parked)


@dataclass(frozen=True)
class Reference:
    """A domain's tiny lake at three stages, each reached without interruption: `bronze` as generated; `base`, the
    bronze without the late files, built by `run --layer silver`, then `run --layer gold`; `full`, the base after
    the late files landed and `run` took them in."""

    domain: str
    root: Path
    seconds: dict[str, float]  # how long each command took: generate, silver, gold, and run (of the late files)
    tables: dict[str, dict[str, pl.DataFrame]]  # every table of `base` and of `full` (tests.conftest.snapshot)

    def copy(self, stage: str, target: Path) -> Lake:
        """A private copy of a stage at `target`."""
        shutil.copytree(self.root / stage, target, symlinks=True)
        return Lake(target)

    def land_late_files(self, lake: Lake) -> None:
        """Copy the late files into `lake`, as a producer drops them."""
        bronze = self.root / "bronze"
        for path in bronze.glob(LATE[self.domain]):
            target = lake.root / path.relative_to(bronze)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)


_REFERENCES: dict[str, Reference] = {}


def reference(factory: pytest.TempPathFactory, domain: str) -> Reference:
    """The domain's reference lake, made on first use in the session."""
    if domain not in _REFERENCES:
        root = factory.mktemp(f"reference-{domain}")
        seconds = {"generate": succeed(root / "bronze", *generate(domain))}
        shutil.copytree(root / "bronze", root / "base")
        late = park(root / "base", LATE[domain], root / "late")
        seconds["silver"] = succeed(root / "base", *run(domain, "--layer", "silver"))
        seconds["gold"] = succeed(root / "base", *run(domain, "--layer", "gold"))
        shutil.copytree(root / "base", root / "full", symlinks=True)
        deliver(late, root / "full")
        seconds["run"] = succeed(root / "full", *run(domain))
        tables = {stage: snapshot(Lake(root / stage), domain) for stage in ("base", "full")}
        _REFERENCES[domain] = Reference(domain, root, seconds, tables)
    return _REFERENCES[domain]

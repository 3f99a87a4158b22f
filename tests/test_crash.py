"""A run killed at each publication step leaves every table readable at its last version; the next run finishes the
work. (Kills at random moments, in every domain and command: tests/test_faults_crash.py.)"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from core import store
from core.lake import Lake
from tests.conftest import assert_same, run_lake, snapshot
from tests.test_faults_lakes import leftover_versions


def half_built(generated: Path, root: Path) -> Lake:
    """A lake that has ingested the first month, with the other months waiting in bronze."""
    shutil.copytree(generated, root)
    lake = Lake(root)
    later = [p for p in root.glob("bronze/meters/*/*.csv") if "2024-01" not in p.name and "_b" in p.name]
    parked = root / "parked"
    for path in later:
        target = parked / path.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        path.rename(target)
    run_lake(lake)
    for path in parked.rglob("*.csv"):
        path.rename(root / path.relative_to(parked))
    shutil.rmtree(parked)
    return lake


def lakehouse_run(lake: Lake, env: dict[str, str] | None = None) -> subprocess.Popen:
    command = [sys.executable, "-m", "pipelines.cli", "--data-dir", str(lake.root), "run", "--threads", "2"]
    return subprocess.Popen(
        command, env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )


@pytest.mark.parametrize(
    "point",
    [
        "before_commit:silver_meters.readings",
        "after_commit:silver_meters.readings",
        "before_commit:gold_meters.fact_readings",
        "after_commit:gold_meters.fact_readings",
        "after_commit:gold_meters.agg_bill_verification",
    ],
)
def test_killed_during_publication(point: str, generated: Path, clean_snapshot: dict, tmp_path: Path) -> None:
    lake = half_built(generated, tmp_path / "lake")
    before = snapshot(lake)
    process = lakehouse_run(lake, {"LAKEHOUSE_CRASH_AT": point})
    process.wait(timeout=300)
    assert process.returncode == -signal.SIGKILL, process.stderr.read()
    during = snapshot(lake)  # every table still reads whole; the crashed one at its previous version
    crashed = point.split(":")[1]
    assert_same({crashed: during[crashed]}, {crashed: before[crashed]})
    finished = lakehouse_run(lake)
    finished.wait(timeout=300)
    assert finished.returncode == 0, finished.stderr.read()
    assert_same(snapshot(lake), clean_snapshot)
    assert leftover_versions(lake) == []


def test_without_syncfs_every_file_and_folder_a_version_wrote_is_flushed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where syncfs(2) is missing, publication fsyncs what the version wrote: each new file (hard links are
    already on disk) and each folder."""
    version = tmp_path / "version"
    (version / "data" / "day=1").mkdir(parents=True)
    (version / "data" / "day=1" / "part-0.parquet").write_bytes(b"new")
    (tmp_path / "old.parquet").write_bytes(b"kept")
    os.link(tmp_path / "old.parquet", version / "data" / "linked.parquet")
    flushed = []
    monkeypatch.setattr(store, "_syncfs", None)
    monkeypatch.setattr(store, "_fsync", lambda path, flags: flushed.append(Path(path).relative_to(version)))
    store._make_durable(version)
    assert sorted(map(str, flushed)) == [".", "data", "data/day=1", "data/day=1/part-0.parquet"]

"""A full disk: a run on a small file system fails in one line, every table stays whole at a published version, and
the next run, given room, finishes the work."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from core.lake import Lake
from tests.conftest import snapshot
from tests.test_faults_lakes import Reference, assert_like, assert_one_line_error, lakehouse, mounted, reference, run

# The room left on an 8 MB file system holding the tiny payments lake and its late files. What runs out first, today:
# the run log (no room), a silver Parquet file (40 KB), the catalog being rebuilt (96 KB).
ROOM = {"no room": 0, "40 KB": 40 * 1024, "96 KB": 96 * 1024}
# ENOSPC met anywhere but the lock file is a traceback today: logging's "--- Logging error ---" for every line the
# run log cannot take, polars' ComputeError writing silver, DuckDB's errors writing the catalog, and on top of them the
# OSError of the run manifest written in run()'s `finally`.


@dataclass(frozen=True)
class FullDisk:
    room: str
    mount: Path
    lake: Lake
    reference: Reference
    result: subprocess.CompletedProcess  # of `lakehouse run`, with the late files waiting and the disk full


@pytest.fixture(scope="module", params=list(ROOM))
def full_disk(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FullDisk]:
    ref = reference(tmp_path_factory, "payments")
    with mounted(tmp_path_factory.mktemp("disk"), "-t", "tmpfs", "-o", "size=8m", "tmpfs") as mount:
        lake = ref.copy("base", mount / "lake")
        ref.land_late_files(lake)
        _fill(mount, leaving=ROOM[request.param])
        yield FullDisk(request.param, mount, lake, ref, lakehouse(lake.root, *run("payments")))


def test_tables_stay_whole_and_a_run_with_room_finishes(full_disk: FullDisk) -> None:
    lake, ref = full_disk.lake, full_disk.reference
    assert full_disk.result.returncode != 0, f"the run fit in {full_disk.room}: leave less room"
    for name, rows in snapshot(lake, "payments").items():  # each at the version before, or already at the new one
        assert any(rows.equals(tables[name]) for tables in ref.tables.values()), name
    subprocess.run(["mount", "-o", "remount,size=64m", str(full_disk.mount)], check=True)
    result = lakehouse(lake.root, *run("payments"))
    assert result.returncode == 0, result.stderr
    assert_like(lake, "payments", ref.tables["full"])


def test_a_full_disk_is_a_one_line_error(full_disk: FullDisk) -> None:
    assert "No space left on device" in assert_one_line_error(full_disk.result)


def test_a_new_lake_on_a_full_disk_is_refused_in_one_line(tmp_path: Path) -> None:
    with mounted(tmp_path, "-t", "tmpfs", "-o", "size=1m", "tmpfs") as mount:
        _fill(mount, leaving=0)
        result = lakehouse(mount / "lake", *run("payments"))
        assert "No space left on device" in assert_one_line_error(result, 2)


def _fill(mount: Path, leaving: int) -> None:
    """Take all the room on the file system but `leaving` bytes."""
    stats = os.statvfs(mount)
    with open(mount / "ballast", "wb") as ballast:
        os.posix_fallocate(ballast.fileno(), 0, stats.f_bavail * stats.f_frsize - leaving)

"""Lake folders that cannot be used (read-only, missing, a file) and a catalog held open by another DuckDB process:
one line and a non-zero exit, without a traceback; or success where the design allows it (a missing bronze folder
is a warning; the catalog is rebuilt into a temporary file and renamed into place, whoever holds the old one)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from core.lake import Lake
from pipelines.catalog import ensure_current
from tests.test_faults_lakes import (
    Reference,
    assert_like,
    assert_one_line_error,
    generate,
    lakehouse,
    mounted,
    reference,
    run,
    succeed,
)

COUNT = ["sql", "select count(*) from silver_payments.transactions", "--format", "csv"]


@pytest.fixture
def ref(tmp_path_factory: pytest.TempPathFactory) -> Reference:
    return reference(tmp_path_factory, "payments")


@pytest.fixture
def built(ref: Reference, tmp_path: Path) -> Lake:
    """A copy of the built payments lake, its catalog repaired for where it now is."""
    lake = ref.copy("full", tmp_path / "lake")
    ensure_current(lake)
    return lake


@pytest.mark.parametrize(
    "args",
    [
        run("payments"),
        pytest.param(["refresh", "--once", "--domain", "payments"]),
        pytest.param([*generate("payments"), "--end", "2024-01-08"]),  # two more days to write
    ],
    ids=["run", "refresh", "generate"],
)
def test_a_read_only_lake_refuses_to_change_in_one_line(built: Lake, args: list[str]) -> None:
    with mounted(built.root, "--bind", "-o", "ro", str(built.root)):
        assert "Read-only file system" in assert_one_line_error(lakehouse(built.root, *args))


def test_a_read_only_lake_can_be_queried(built: Lake, ref: Reference) -> None:
    with mounted(built.root, "--bind", "-o", "ro", str(built.root)):
        result = lakehouse(built.root, *COUNT)
    assert result.stdout.split() == ["count_star()", str(len(ref.tables["full"]["silver_payments.transactions"]))]


def test_bronze_on_a_read_only_file_system_is_read(built: Lake, ref: Reference) -> None:
    """Bronze is only ever read: producers' files on read-only storage build the lake as well."""
    ref.land_late_files(built)
    with mounted(built.bronze, "--bind", "-o", "ro", str(built.bronze)):
        succeed(built.root, *run("payments"))
    assert_like(built, "payments", ref.tables["full"])


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (run("payments"), "is a file, not a folder"),
        (COUNT, "no catalog"),
        pytest.param(generate("payments"), ""),
    ],
    ids=["run", "sql", "generate"],
)
def test_a_lake_root_that_is_a_file_is_refused_in_one_line(tmp_path: Path, args: list[str], said: str) -> None:
    (tmp_path / "lake").write_text("not a lake")
    assert said in assert_one_line_error(lakehouse(tmp_path / "lake", *args))


def test_a_missing_lake_is_created_and_its_missing_bronze_folder_is_a_warning(tmp_path: Path) -> None:
    result = lakehouse(tmp_path / "lake", *run("payments"))
    assert result.returncode == 0, result.stderr
    assert f"warning: no bronze files under {tmp_path / 'lake' / 'bronze' / 'payments'}" in result.stderr


def test_a_vanished_bronze_folder_is_a_one_line_error_naming_the_repair(built: Lake) -> None:
    (built.root / "bronze" / "payments").rename(built.root / "elsewhere")
    message = assert_one_line_error(lakehouse(built.root, *run("payments")), 2)
    assert "is gone" in message and "lakehouse run --full-refresh --domain payments" in message


def test_a_catalog_held_read_write_by_another_process_is_replaced(ref: Reference, tmp_path: Path) -> None:
    """A DuckDB CLI or BI tool holding the catalog read-write blocks neither the run that refreshes it nor the next
    query: each rebuilds it aside and renames it over the held file."""
    lake = ref.copy("base", tmp_path / "lake")
    ref.land_late_files(lake)
    with holding(lake.catalog):
        succeed(lake.root, *run("payments"))
    assert_like(lake, "payments", ref.tables["full"])
    with holding(lake.catalog):
        result = lakehouse(lake.root, *COUNT)
    assert result.stdout.split() == ["count_star()", str(len(ref.tables["full"]["silver_payments.transactions"]))]


def test_a_catalog_held_while_a_run_holds_the_lake_is_a_one_line_error(built: Lake) -> None:
    with holding(built.catalog, built.lock_file):
        assert "Conflicting lock" in assert_one_line_error(lakehouse(built.root, *COUNT))


_HOLD = """
import duckdb, fcntl, os, sys
catalog = duckdb.connect(sys.argv[1])
for lock in sys.argv[2:]:
    fcntl.flock(os.open(lock, os.O_RDWR), fcntl.LOCK_EX)
print("holding", flush=True)
sys.stdin.read()
"""


@contextmanager
def holding(catalog: Path, lock: Path | None = None) -> Iterator[None]:
    """Another process keeps the catalog open read-write, as the DuckDB CLI or a BI tool does, and with `lock` the
    lake's lock too, as a running command does."""
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(catalog), *([str(lock)] if lock else [])],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline() == "holding\n"
        yield
    finally:
        holder.stdin.close()
        holder.wait(timeout=60)

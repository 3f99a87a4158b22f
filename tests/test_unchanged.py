"""A run with nothing to do knows it from a digest of what the last complete run rested on (pipelines/unchanged.py):
it then loads neither polars nor DuckDB, and reports every table current; anything that changed since (a new file, a
file changed in place, a moved lake, a table another command wrote) gets the whole check."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import contracts
from core.lake import Lake
from core.store import TableStore
from pipelines import unchanged
from pipelines.manifest import RunFailedError
from tests.conftest import run_ratings


@pytest.fixture
def ratings_copy(ratings_lake: Lake, tmp_path: Path) -> Lake:
    """A copy of the built ratings lake: moved, so its first run checks everything (and records the digest)."""
    lake = Lake(tmp_path / "lake")
    shutil.copytree(ratings_lake.root, lake.root, symlinks=True)
    assert not unchanged.matches(lake, "ratings", unchanged.bronze_listing(lake, "ratings"))
    assert run_ratings(lake).status == "up_to_date"
    return lake


def _cli_run(lake: Lake) -> tuple[int, list[str], dict]:
    """`lakehouse run --domain ratings` in a fresh interpreter: its exit code, the heavy modules it loaded, and its
    manifest."""
    script = (
        "import sys; from pipelines.cli import main; code = main(sys.argv[1:]); "
        "print(code, [m for m in ('polars', 'duckdb', 'numpy', 'pyarrow') if m in sys.modules])"
    )
    command = [sys.executable, "-c", script, "--data-dir", str(lake.root), "run", "--domain", "ratings"]
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=Path(__file__).parents[1])
    code, loaded = done.stdout.strip().splitlines()[-1].split(" ", 1)
    manifest = json.loads(max(lake.runs.glob("*.json")).read_text())
    return int(code), eval(loaded), manifest  # noqa: S307 (a list of names printed just above)


def test_nothing_changed_loads_neither_polars_nor_duckdb(ratings_copy: Lake) -> None:
    code, loaded, manifest = _cli_run(ratings_copy)
    assert (code, loaded, manifest["status"]) == (0, [], "up_to_date")
    tables = [t for t in contracts.tables() if t.domain == "ratings" and t.layer in ("silver", "gold")]
    reported = {**manifest["silver"], **manifest["gold"]}
    assert set(reported) == {t.qualified_name for t in tables}
    for table in tables:  # every table current, at the version its state names
        entry = reported[table.qualified_name]
        assert (entry["status"], entry["version"]) == ("up_to_date", TableStore(ratings_copy, table).state()["version"])


def test_a_new_file_is_read(ratings_copy: Lake) -> None:
    source = next((ratings_copy.bronze / "ratings").rglob("*.csv"))
    day = source.parent.with_name("2030-01-01")
    day.mkdir()
    shutil.copy(source, day / source.name)
    manifest = run_ratings(ratings_copy)
    assert manifest.silver["silver_ratings.customer_ratings_history"]["files_in"] == 1
    assert manifest.status == "succeeded"


def test_a_file_changed_in_place_is_still_refused(ratings_copy: Lake) -> None:
    source = next((ratings_copy.bronze / "ratings").rglob("*.csv"))
    source.write_bytes(source.read_bytes() + source.read_bytes().splitlines(keepends=True)[-1])
    with pytest.raises(RunFailedError, match="changed"):
        run_ratings(ratings_copy)
    assert not unchanged.matches(ratings_copy, "ratings", unchanged.bronze_listing(ratings_copy, "ratings"))


def test_a_file_arriving_during_a_run_is_not_taken_as_seen(ratings_copy: Lake) -> None:
    listing = unchanged.bronze_listing(ratings_copy, "ratings")  # as a run starts, before silver reads
    source = next((ratings_copy.bronze / "ratings").rglob("*.csv"))
    shutil.copy(source, source.with_name("late arrival.csv"))
    unchanged.record(ratings_copy, "ratings", listing)  # the run ends
    assert not unchanged.matches(ratings_copy, "ratings", unchanged.bronze_listing(ratings_copy, "ratings"))


def test_a_forced_run_is_not_complete_and_the_next_checks_everything(ratings_copy: Lake) -> None:
    run_ratings(ratings_copy, full_refresh=True)
    assert not (ratings_copy.unchanged / "ratings.json").exists()
    assert run_ratings(ratings_copy).status == "up_to_date"  # checked table by table, and recorded again
    assert unchanged.matches(ratings_copy, "ratings", unchanged.bronze_listing(ratings_copy, "ratings"))

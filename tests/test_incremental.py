"""Incremental runs equal a full rebuild, whatever batches and order the bronze files arrive in."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bronze.files
import silver.merging
from core.lake import Lake
from tests.conftest import arrivals, assert_same, deliver, run_lake, snapshot


def bronze_files(root: Path) -> list[Path]:
    return sorted(p.relative_to(root) for p in (root / "bronze").rglob("*.csv"))


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_arrival_order_gives_the_full_rebuild(generated: Path, clean_snapshot: dict, data: st.DataObject) -> None:
    files = bronze_files(generated)
    with tempfile.TemporaryDirectory() as directory:
        lake = Lake(Path(directory) / "lake")
        for batch in arrivals(data, files):
            deliver(generated, lake, batch)
            run_lake(lake)
        incremental = snapshot(lake)
        assert run_lake(lake).status == "up_to_date"
        assert_same(snapshot(lake), incremental)
        run_lake(lake, full_refresh=True)
        assert_same(snapshot(lake), incremental)
    assert_same(incremental, clean_snapshot)


def test_new_months_rebuild_only_their_partitions(generated: Path, clean_snapshot: dict, tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    shutil.copytree(generated, lake.root)
    later = sorted(lake.bronze_dir("meters", "readings").glob("readings_2024-0[23]_*.csv"))
    parked = tmp_path / "parked"
    parked.mkdir()
    for path in later:
        path.rename(parked / path.name)
    run_lake(lake)
    january = sorted(p.name for p in (lake.root / "gold" / "meters" / "fact_readings").iterdir())
    for path in parked.iterdir():
        path.rename(lake.bronze_dir("meters", "readings") / path.name)
    manifest = run_lake(lake)
    for model in ("fact_readings", "agg_daily_consumption"):
        assert manifest.gold[f"gold_meters.{model}"]["partitions_rebuilt"] == 2
    assert january == ["month=2024-01"]
    assert_same(snapshot(lake), clean_snapshot)


@pytest.mark.parametrize(
    "limits",
    [
        {(silver.merging, "BUCKET_ROWS"): 3000},  # months merged in buckets, by several files each
        {(bronze.files, "SMALL_FILE_BYTES"): 0},  # every file read alone
        {(bronze.files, "BATCH_FILES"): 2},  # small files read two at a time
        {(silver.merging, "GROUPS_PER_THREAD"): 0.01},  # every month merged in one group
    ],
    ids=["buckets", "files-alone", "small-batches", "one-group"],
)
def test_how_the_work_is_cut_does_not_change_the_result(
    generated: Path, clean_snapshot: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, limits: dict
) -> None:
    """By default small files are read together and partitions merged in a few groups; cut otherwise (a
    partition-wide derivation over several months in one group too), every table is the same."""
    for (module, name), value in limits.items():
        monkeypatch.setattr(module, name, value)
    lake = Lake(tmp_path / "lake")
    shutil.copytree(generated, lake.root)
    run_lake(lake)
    assert_same(snapshot(lake), clean_snapshot)
    readings = (lake.root / "silver" / "meters" / "readings").resolve()
    bucketed = any(readings.rglob("part-1.parquet"))
    assert bucketed == (limits.get((silver.merging, "BUCKET_ROWS")) == 3000)

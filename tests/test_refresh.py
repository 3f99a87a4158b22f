"""The refresh service: batches of any size give the full rebuild, a killed cycle repairs itself, and the
service logs a line per cycle, survives bad files and failed cycles, and stops on SIGTERM."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.lake import Lake
from core.lock import lake_lock
from tests.conftest import assert_same, run_telecom, snapshot, write_bronze

FEEDS = ("cdr_data_usage", "cdr_voice_calls", "forex_raw")


def feed_files(root: Path) -> list[Path]:
    """The windowed feed files in arrival order (their names are the windows)."""
    return sorted((p for feed in FEEDS for p in (root / "bronze" / "telecom" / feed).glob("*.csv")),
                  key=lambda p: (p.name, p.parent.name))  # fmt: skip


def start_lake(generated: Path, root: Path) -> Lake:
    """A lake with the generated reference data (the CRM; no tariff: the default prices) and no feeds yet."""
    shutil.copytree(generated, root)
    for path in feed_files(root):
        path.unlink()
    return Lake(root)


def split(path: Path, cuts: list[float]) -> list[tuple[str, bytes]]:
    """A feed file cut into consecutive pieces at fractions of its lines, each piece a file with the header."""
    header, *lines = path.read_bytes().splitlines(keepends=True)
    points = sorted({round(c * len(lines)) for c in cuts} | {0, len(lines)})
    return [
        (f"{path.stem}_p{i}.csv", header + b"".join(lines[a:b])) for i, (a, b) in enumerate(zip(points, points[1:]))
    ]


def pieces(generated: Path, cuts: list[float]) -> list[tuple[str, str, bytes]]:
    return [(path.parent.name, name, text) for path in feed_files(generated) for name, text in split(path, cuts)]


def comparable(lake: Lake) -> dict:
    """Silver and gold, and how many rows the quarantine holds for each disposition and list of rules (its rows name
    the files they came from, which differ between splits)."""
    tables = snapshot(lake, "telecom")
    for name in [k for k in tables if k.startswith("quarantine_")]:
        rules = pl.col("failed_rules").list.join(",")
        tables[name] = tables[name].group_by("disposition", rules).len().sort("disposition", "failed_rules")
    return tables


@settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    cuts=st.lists(st.floats(0.05, 0.95), max_size=3),
    batch_cuts=st.lists(st.integers(1, 30), min_size=1, max_size=3, unique=True),
    data=st.data(),
)
def test_random_batches_give_the_full_rebuild(telecom_generated: Path, tmp_path_factory, cuts, batch_cuts, data):
    """Feed files cut into pieces, delivered in batches, in arrival order or (a replayed backlog) any order."""
    files = pieces(telecom_generated, cuts)
    full = start_lake(telecom_generated, tmp_path_factory.mktemp("full") / "lake")
    for feed, name, text in files:
        write_bronze(full, feed, name, text, "telecom")
    run_telecom(full)
    if data.draw(st.booleans(), label="out of order"):
        files = data.draw(st.permutations(files), label="arrival")
    batched = start_lake(telecom_generated, tmp_path_factory.mktemp("batched") / "lake")
    bounds = sorted({min(c, len(files)) for c in batch_cuts} | {0, len(files)})
    for a, b in zip(bounds, bounds[1:]):
        for feed, name, text in files[a:b]:
            write_bronze(batched, feed, name, text, "telecom")
        run_telecom(batched)
    assert_same(comparable(batched), comparable(full))


def refresh(lake: Lake, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    command = [sys.executable, "-m", "pipelines.cli", "--data-dir", str(lake.root), "refresh", "--domain", "telecom"]
    return subprocess.Popen(
        [*command, *args], env={**os.environ, **(env or {})}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip


@pytest.mark.parametrize(
    "point",
    [
        "before_commit:silver_telecom.cdr_data_usage",
        "after_commit:prepared_layers.cdr_open_runs",
        "before_commit:prepared_layers.forex_ohlc_m1",
        "after_commit:prepared_layers.crm_user_balance_hourly",
    ],
)
def test_a_cycle_killed_mid_publication_is_repaired_by_the_next(telecom_generated: Path, tmp_path: Path, point) -> None:
    files = feed_files(telecom_generated)
    lake = start_lake(telecom_generated, tmp_path / "lake")
    first, last = files[:-3], files[-3:]
    for path in first:
        write_bronze(lake, path.parent.name, path.name, path.read_bytes(), "telecom")
    run_telecom(lake)
    before = comparable(lake)
    for path in last:
        write_bronze(lake, path.parent.name, path.name, path.read_bytes(), "telecom")
    killed = refresh(lake, "--once", env={"LAKEHOUSE_CRASH_AT": point})
    assert killed.wait(timeout=120) == -signal.SIGKILL
    during = comparable(lake)  # every table reads whole, at its last published version
    assert during.keys() == before.keys()
    assert refresh(lake, "--once").wait(timeout=120) == 0
    full = Lake(tmp_path / "full")
    shutil.copytree(telecom_generated, full.root)
    run_telecom(full)
    assert_same(comparable(lake), comparable(full))


def test_one_line_per_cycle_a_bad_file_is_quarantined_a_failed_cycle_retried(telecom_copy: Lake) -> None:
    write_bronze(telecom_copy, "cdr_voice_calls", "zz_garbage.csv", "what,is\nthis,file\n", "telecom")
    with lake_lock(telecom_copy, "a test holding the lake"):
        held = refresh(telecom_copy, "--once")
        assert held.wait(timeout=60) == 3  # as `lakehouse run` exits on a locked lake
    failed = json.loads(held.stdout.read().splitlines()[-1])
    assert failed["status"] == "failed" and "another lakehouse command holds the lake" in failed["error"]
    done = refresh(telecom_copy, "--once")
    assert done.wait(timeout=120) == 0
    cycle = json.loads(done.stdout.read().splitlines()[-1])
    assert cycle["event"] == "refresh_cycle" and cycle["status"] == "succeeded"
    assert cycle["files"] == len(list(telecom_copy.bronze.rglob("*.csv")))
    assert cycle["rows_in"] == cycle["loaded"] + cycle["quarantined"] + cycle["duplicates"]
    assert cycle["quarantined"] >= 1 and cycle["data_lag_seconds"] > 0 and cycle["gold_models_built"] == 10
    journal = (telecom_copy.logs / "refresh.jsonl").read_text().splitlines()
    assert [json.loads(line)["status"] for line in journal] == ["failed", "succeeded"]


def test_sigterm_stops_the_service_and_leaves_every_table_published(telecom_copy: Lake) -> None:
    service = refresh(telecom_copy, "--every", "0.5s")
    first = json.loads(service.stdout.readline())
    assert first["status"] == "succeeded" and first["cycle"] == 1
    second = json.loads(service.stdout.readline())
    assert second["status"] == "up_to_date"
    service.send_signal(signal.SIGTERM)
    assert service.wait(timeout=60) == 0  # it stops; how fast depends on the machine, not on the service
    stopped = json.loads(service.stdout.read().splitlines()[-1])
    assert stopped["event"] == "refresh_stopped"
    states = list((telecom_copy.root / "_state").rglob("*.json"))
    assert states and all(json.loads(p.read_text())["version"] for p in states)
    assert refresh(telecom_copy, "--once").wait(timeout=120) == 0  # and the next start finds a whole lake

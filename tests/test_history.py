"""Run history: bounded (the last KEEP_RUNS runs, none older than KEEP_DAYS days, of each kind), pruned by every
run, listed by `lakehouse history`."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest

from core.lake import Lake
from pipelines.cli import main
from pipelines.history import KEEP_DAYS, KEEP_RUNS, RUN_ID_FORMAT, prune, trim_journal
from tests.conftest import run_payments

NOW = dt.datetime(2025, 6, 1, 12, tzinfo=dt.timezone.utc)


def run_id(at: dt.datetime) -> str:
    return at.strftime(RUN_ID_FORMAT)


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{}")
    return path


@pytest.fixture
def payments_copy(payments_lake: Lake, tmp_path: Path) -> Lake:
    lake = Lake(tmp_path / "lake")
    shutil.copytree(payments_lake.root, lake.root, symlinks=True)
    return lake


def test_prune_keeps_the_newest_runs_of_each_kind_and_nothing_too_old(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    recent = [NOW - dt.timedelta(minutes=5 * i) for i in range(KEEP_RUNS + 5)]  # a 5-minute refresh: 3.5 days
    old = [NOW - dt.timedelta(days=KEEP_DAYS, seconds=i + 1) for i in range(3)]
    for at in recent + old:
        touch(lake.runs / f"{run_id(at)}.json")
        touch(lake.logs / f"{run_id(at)}.jsonl")
    generated = [touch(lake.logs / f"generate-{run_id(at)}.jsonl") for at in (NOW, old[0])]
    others = [touch(lake.logs / "refresh.jsonl"), touch(lake.logs / "sql_history"), touch(lake.runs / "notes.json")]

    assert prune(lake, NOW) == 2 * (5 + 3) + 1
    kept = {run_id(at) for at in recent[:KEEP_RUNS]}
    assert {p.stem for p in lake.runs.glob("2*.json")} == kept
    assert {p.stem for p in lake.logs.glob("2*.jsonl")} == kept
    assert [p.exists() for p in generated] == [True, False]
    assert all(p.exists() for p in others)
    assert prune(lake, NOW) == 0


def test_the_refresh_journal_is_trimmed_by_the_same_rule(tmp_path: Path) -> None:
    journal = tmp_path / "refresh.jsonl"
    times = [NOW - dt.timedelta(days=KEEP_DAYS + 1)] + [NOW - dt.timedelta(minutes=i) for i in range(KEEP_RUNS, 0, -1)]
    lines = [json.dumps({"ts": at.isoformat(), "cycle": i}) + "\n" for i, at in enumerate(times)]
    journal.write_text("".join(lines[:10]))
    inode = journal.stat().st_ino
    trim_journal(journal, NOW)
    assert journal.read_text() == "".join(lines[1:10])  # the one too old is gone
    assert journal.stat().st_ino != inode  # replaced by a rename, never rewritten in place
    inode = journal.stat().st_ino
    trim_journal(journal, NOW)
    assert journal.stat().st_ino == inode  # nothing to drop: not rewritten
    journal.write_text("".join(lines[1:]) + json.dumps({"ts": NOW.isoformat(), "cycle": "latest"}) + "\n")
    trim_journal(journal, NOW)
    kept = journal.read_text().splitlines()
    assert len(kept) == KEEP_RUNS and json.loads(kept[-1])["cycle"] == "latest"


def test_every_run_prunes_history(payments_copy: Lake) -> None:
    ancient = touch(payments_copy.runs / f"{run_id(NOW - dt.timedelta(days=400))}.json")
    manifest = run_payments(payments_copy)
    assert not ancient.exists()
    assert (payments_copy.runs / f"{manifest.run_id}.json").exists()


def test_history_lists_runs_newest_first_and_prunes_on_demand(payments_copy: Lake, capsys) -> None:
    run_payments(payments_copy)  # nothing new: up to date
    assert main(["--data-dir", str(payments_copy.root), "history", "--format", "json"]) == 0
    first, second = json.loads(capsys.readouterr().out)
    assert (first["status"], first["files"], first["rows_in"]) == ("up_to_date", 0, 0)
    assert second["status"] == "succeeded" and second["run_id"] < first["run_id"]
    assert second["rows_in"] == second["loaded"] + second["quarantined"] + second["duplicates"] > 0
    assert second["seconds"] > 0 and second["failed_domains"] is None
    assert main(["--data-dir", str(payments_copy.root), "history", "--limit", "1", "--format", "csv"]) == 0
    assert capsys.readouterr().out.splitlines()[1].startswith(f"{first['run_id']},up_to_date,")
    touch(payments_copy.logs / f"{run_id(NOW - dt.timedelta(days=400))}.jsonl")
    assert main(["--data-dir", str(payments_copy.root), "history", "--prune"]) == 0
    assert capsys.readouterr().out == "pruned 1 manifest(s) and log(s)\n"

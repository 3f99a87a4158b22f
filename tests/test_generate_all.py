"""`lakehouse generate all`, and tasks in threads or processes: the same bronze, byte for byte."""

from __future__ import annotations

import datetime as dt
import hashlib
import multiprocessing
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from types import ModuleType
from typing import TypeVar

import pytest

from core.lake import Lake
from generators import meters, payments, ratings, telecom, trades
from generators.tasks import run_tasks
from pipelines.cli import main
from tests.conftest import SMALL, SMALL_PAYMENTS, SMALL_RATINGS, SMALL_TELECOM, SMALL_TRADES

T = TypeVar("T")
R = TypeVar("R")
# The small lakes of the other tests, with more than one task each
PARAMS = {
    meters: SMALL,
    telecom: SMALL_TELECOM,  # a task a day
    payments: replace(SMALL_PAYMENTS, end=dt.date(2024, 2, 2)),  # a task a month
    trades: SMALL_TRADES,
    ratings: replace(SMALL_RATINGS, days=50),  # a task per 250 files
}


def files(root: Path, domain: str = "") -> dict[str, tuple[str, int]]:
    """Every bronze and ledger file (of `domain`, else of all), with its digest and modification time."""
    paths = sorted(p for top in ("bronze", "_ledger") for p in (root / top / domain).rglob("*") if p.is_file())
    return {
        p.relative_to(root).as_posix(): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for p in paths
    }


def digests(root: Path, domain: str = "") -> dict[str, str]:
    return {name: digest for name, (digest, _) in files(root, domain).items()}


def test_generate_all_writes_each_domain_as_its_command_would_and_then_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    everything, alone = tmp_path / "all", tmp_path / "alone"
    assert main(["--data-dir", str(everything), "generate", "all"]) == 0
    first = capsys.readouterr().err
    assert main(["--data-dir", str(alone), "generate", "ratings"]) == 0
    assert digests(everything, "ratings") == digests(alone, "ratings")
    assert capsys.readouterr().err in first  # and says the same
    assert {name.split("/")[1] for name in files(everything)} == {"meters", "telecom", "payments", "trades", "ratings"}
    before = files(everything)
    assert main(["--data-dir", str(everything), "generate", "all"]) == 0
    assert files(everything) == before  # not one file written again
    said = [line for line in capsys.readouterr().err.splitlines() if "file(s) written" in line]
    assert said and all(": 0 file(s) written" in line for line in said)


@pytest.mark.parametrize("domain", PARAMS, ids=lambda module: module.__name__.rpartition(".")[2])
def test_tasks_write_the_same_bytes_in_worker_processes(
    domain: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tasks run in threads of one process; each run in a worker process instead writes the same bytes: no task
    depends on what another left in the process."""
    one, workers = Lake(tmp_path / "one"), Lake(tmp_path / "workers")
    domain.generate(one, PARAMS[domain], workers=2)
    monkeypatch.setattr(domain, "run_tasks", in_workers)
    domain.generate(workers, PARAMS[domain], workers=2)
    assert digests(workers.root) == digests(one.root)


def in_workers(work: Callable[[T], R], tasks: list[T], workers: int, desc: str) -> list[R]:
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        return pool.map(work, tasks)


def test_tasks_run_side_by_side_and_give_their_results_in_task_order() -> None:
    both = threading.Barrier(2, timeout=30)

    def square(n: int) -> int:
        if n < 2:  # the first two tasks wait for each other: they finish only if they run at the same time
            both.wait()
        return n * n

    assert run_tasks(square, list(range(40)), workers=2, desc="squares") == [n * n for n in range(40)]
    assert run_tasks(square, [], workers=2, desc="none") == []


def test_a_failing_task_fails_the_run() -> None:
    def square(n: int) -> int:
        if n == 99:
            raise ValueError("the task of 99 fails")
        return n * n

    with pytest.raises(ValueError, match="the task of 99 fails"):
        run_tasks(square, list(range(100)), workers=2, desc="squares")

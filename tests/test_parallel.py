"""`run_graph` (core/parallel.py): work in threads, each item once the items it needs have succeeded."""

from __future__ import annotations

import itertools
import json
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.parallel import run_graph
from pipelines.run import RunOptions, run


@st.composite
def graphs(draw: st.DrawFn) -> tuple[list[int], dict[int, list[int]], set[int], int]:
    """Items 0..n-1, each needing some earlier ones; which fail; how many workers."""
    n = draw(st.integers(0, 12))
    needs = {i: draw(st.lists(st.integers(0, i - 1), max_size=3, unique=True)) if i else [] for i in range(n)}
    failing = draw(st.sets(st.integers(0, max(n - 1, 0)), max_size=3)) if n else set()
    return list(range(n)), needs, failing, draw(st.integers(1, 3))


@settings(max_examples=60, deadline=None)
@given(graphs())
def test_each_item_runs_once_after_what_it_needs_and_failures_block_their_descendants(graph) -> None:
    items, needs, failing, workers = graph
    clock = itertools.count()
    lock = threading.Lock()
    started: dict[int, int] = {}
    finished: dict[int, int] = {}

    def work(item: int) -> bool:
        with lock:
            assert item not in started
            started[item] = next(clock)
        with lock:
            finished[item] = next(clock)
        return item not in failing

    blocked = run_graph(work, items, needs, workers)

    def runs(item: int) -> bool:  # every item it needs ran and succeeded
        return all(runs(n) and n not in failing for n in needs[item])

    assert set(started) == {i for i in items if runs(i)}
    assert blocked == [i for i in items if not runs(i)]
    for item in started:
        assert all(finished[n] < started[item] for n in needs[item])


def test_independent_items_run_side_by_side() -> None:
    both = threading.Barrier(2, timeout=30)  # broken (an error) unless the two items are running at once
    ran = []

    def work(item: str) -> bool:
        if item in ("a", "b"):
            both.wait()
        ran.append(item)
        return True

    assert run_graph(work, ["a", "b", "c"], {"c": ["a", "b"]}, workers=2) == []
    assert sorted(ran[:2]) == ["a", "b"] and ran[2] == "c"


def test_an_exception_stops_what_needs_it_and_is_raised() -> None:
    ran = []

    def work(item: str) -> bool:
        if item == "a":
            raise KeyError(item)
        ran.append(item)
        return True

    with pytest.raises(KeyError):
        run_graph(work, ["a", "b", "c"], {"b": ["a"]}, workers=1)
    assert "b" not in ran


def test_the_costliest_chains_start_first() -> None:
    """One worker: items start by the work waiting behind them (their own included), then in the order given."""
    ran = []

    def work(item: str) -> bool:
        ran.append(item)
        return True

    items, needs = ["small", "head", "tail", "hourly", "balance"], {"tail": ["head"], "balance": ["hourly"]}
    run_graph(work, items, needs, workers=1)
    assert ran == ["head", "hourly", "small", "tail", "balance"]  # chains of two first
    ran.clear()
    costs = {"small": 1.0, "head": 0.1, "tail": 0.1, "hourly": 0.5, "balance": 0.2}
    run_graph(work, items, needs, workers=1, cost=costs)
    assert ran == ["small", "hourly", "head", "balance", "tail"]  # 1.0, 0.7, 0.2 (given first), 0.2, 0.1


def test_items_without_a_cost_count_as_the_mean_of_the_others() -> None:
    ran = []
    run_graph(lambda item: ran.append(item) or True, ["a", "b", "c"], {"c": ["b"]}, workers=1, cost={"a": 3.0})
    assert ran == ["b", "a", "c"]  # b: 3 + 3 (c waits on it), then a and c: 3 each, in the order given


def test_a_domains_silver_jobs_start_with_the_heaviest_bronze(telecom_copy) -> None:
    """Its bronze is what a silver job is expected to cost: on one thread the forex quotes (by far the most bytes)
    go first, then the accounts that the CDR wait on, and the tariffs (no file) last; not the contract's order.
    (A run without options lists the bronze anyway, for pipelines/unchanged.py.)"""
    manifest = run(telecom_copy, RunOptions(domains=("telecom",), threads=1), "test")
    lines = (telecom_copy.logs / f"{manifest.run_id}.jsonl").read_text().splitlines()
    built = [event["table"] for event in map(json.loads, lines) if event["event"] == "silver_built"]
    assert [name.split(".")[1] for name in built] == [
        "forex_raw",
        "crm_accounts",
        "cdr_data_usage",
        "cdr_voice_calls",
        "crm_addresses",
        "crm_devices",
        "tariffs",
    ]

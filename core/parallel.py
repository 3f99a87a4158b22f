"""Independent pieces of work side by side, in threads: a run's domains, and a domain's silver tables and gold
models as their dependencies allow.

Much of a domain's time is latency, not computing: DuckDB planning and writing small models, Python between
polars steps, files flushed to disk. Two domains at once on two cores: the gold stage of the default lake took
5.0-5.8 s instead of 9.5 s (measured with two processes). The threads are daemons, so that Ctrl-C (or SIGTERM to
the refresh service) stops the run at once, as it did with one domain at a time: what was published stays
published, and the next run repairs the rest.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TypeVar

T = TypeVar("T")


def run_each(work: Callable[[T], None], items: Sequence[T], workers: int | None = None) -> None:
    """`work(item)` for every item, `workers` at a time (default: one per CPU); the first exception `work` raises
    is raised here once the others have finished (they catch their own expected errors)."""
    workers = min(len(items), workers or os.cpu_count() or 1)
    if workers <= 1:
        for item in items:
            work(item)
        return
    pending: queue.SimpleQueue[T] = queue.SimpleQueue()
    for item in items:
        pending.put(item)
    errors: list[BaseException] = []

    def worker() -> None:
        while not errors:
            try:
                item = pending.get_nowait()
            except queue.Empty:
                return
            try:
                work(item)
            except BaseException as error:  # re-raised in the caller's thread
                errors.append(error)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        while thread.is_alive():
            thread.join(0.1)  # in short waits, so that the caller's thread still receives Ctrl-C
    if errors:
        raise errors[0]


def run_graph(
    work: Callable[[T], bool],
    items: Sequence[T],
    needs: Mapping[T, Iterable[T]],
    workers: int | None = None,
    slots: threading.Semaphore | None = None,
    cost: Mapping[T, float] | None = None,
) -> list[T]:
    """`work(item)` for every item once the items it `needs` (those among `items`) have succeeded, `workers` at a
    time, those heading the costliest chains of items first (see `by_critical_path`); each holds one of `slots`
    while it works, if given (shared by graphs running side by side, so that together they run no more jobs than it
    has slots). `work` returns whether it succeeded; an item needing one that did not is not run. Returns those, in
    order. The first exception `work` raises is raised here once the running ones finish."""
    inside = set(items)
    needs = {item: [n for n in needs.get(item, ()) if n in inside] for item in items}
    order = by_critical_path(items, needs, cost or {})
    succeeded: dict[T, bool] = {}
    started: set[T] = set()
    blocked: list[T] = []
    errors: list[BaseException] = []
    changed = threading.Condition()

    def ready() -> T | None:
        return next((i for i in order if i not in started and all(n in succeeded for n in needs[i])), None)

    def worker() -> None:
        while True:
            with changed:
                while not errors and len(started) < len(items) and (item := ready()) is None:
                    changed.wait()
                if errors or len(started) == len(items):
                    return
                started.add(item)
            ok = False
            try:
                if all(succeeded[n] for n in needs[item]):
                    with slots or contextlib.nullcontext():
                        ok = work(item)
                else:
                    blocked.append(item)
            except BaseException as error:  # re-raised in the caller's thread
                errors.append(error)
            finally:
                with changed:
                    succeeded[item] = ok
                    changed.notify_all()

    count = min(len(items), workers or os.cpu_count() or 1)
    run_each(lambda _: worker(), range(count), count)
    if errors:
        raise errors[0]
    return [item for item in items if item in blocked]


def by_critical_path(items: Sequence[T], needs: Mapping[T, Sequence[T]], cost: Mapping[T, float]) -> list[T]:
    """`items` in the order to start them: costliest chain of items waiting on an item (the item included) first,
    then in the order given. An item's `cost` is what it is expected to take (an item without one: the mean of the
    others, or 1). Starting first what the most work waits behind keeps the last item from running alone at the
    end: a telecom refresh cycle's gold started its four small forex bars first, and ended with the hourly balance
    alone on one core."""
    known = [cost[item] for item in items if item in cost]
    usual = sum(known) / len(known) if known else 1.0
    waiting: dict[T, list[T]] = {item: [] for item in items}
    for item in items:
        for needed in needs[item]:
            waiting[needed].append(item)
    chain: dict[T, float] = {}

    def costliest(item: T) -> float:
        if item not in chain:
            chain[item] = cost.get(item, usual) + max((costliest(w) for w in waiting[item]), default=0.0)
        return chain[item]

    position = {item: number for number, item in enumerate(items)}
    return sorted(items, key=lambda item: (-costliest(item), position[item]))

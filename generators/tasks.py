"""A generator's tasks, run in this process and, when the work is worth it, in worker processes too.

This process takes tasks from the front, one after the other. If at its pace the tasks left would outlast the start
of a worker process by half as long again (a spawned worker spends about a second importing polars, numpy and
faker), workers start, and once ready take tasks from the back until the two ends meet; a worker not ready by then
is let go. So small work never waits for workers, and large work keeps every core busy. A task draws from its own
random streams and writes its own files, so the output is the same wherever it runs.
"""

from __future__ import annotations

import itertools
import multiprocessing
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

from core.progress import progress

T = TypeVar("T")
R = TypeVar("R")

WORKER_START_SECONDS = 1.0  # measured on 2 cores


def run_tasks(work: Callable[[T], R], tasks: Sequence[T], workers: int, desc: str) -> list[R]:
    """Run `work` on every task with up to `workers` processes, this one included; results in task order."""
    done: dict[int, R] = {}
    list(progress(_run(work, tasks, workers, done), desc=desc, unit="task", total=len(tasks)))
    return [done[i] for i in range(len(tasks))]


def _run(work: Callable[[T], R], tasks: Sequence[T], workers: int, done: dict[int, R]) -> Iterator[None]:
    """Fill `done`, yielding once per task done."""
    ends, helpers, started = _Ends(len(tasks)), None, time.perf_counter()
    try:
        while (i := ends.take(back=False)) is not None:
            done[i] = work(tasks[i])
            yield
            pace = (time.perf_counter() - started) / ends.front
            if helpers is None and workers > 1 and pace * ends.left > 1.5 * WORKER_START_SECONDS:
                helpers = _Helpers(work, tasks, ends, done, workers - 1)
    except BaseException:
        if helpers is not None:
            helpers.stop(wait=False)
        raise
    if helpers is not None:
        helpers.stop(wait=True)
    yield from itertools.repeat(None, len(done) - ends.front)  # the workers' tasks


class _Ends:
    """The tasks not yet taken: this process takes them from the front, workers from the back."""

    def __init__(self, count: int):
        self.front, self.back, self.away = 0, count, 0  # away: taken by workers and not yet done
        self.changed = threading.Condition()

    @property
    def left(self) -> int:
        return self.back - self.front

    def take(self, back: bool) -> int | None:
        with self.changed:
            if self.front == self.back:
                return None
            if back:
                self.back -= 1
                self.away += 1
                return self.back
            self.front += 1
            return self.front - 1

    def returned(self) -> None:
        with self.changed:
            self.away -= 1
            self.changed.notify_all()

    def cancel(self) -> None:
        """Hand out no more tasks."""
        with self.changed:
            self.back = self.front

    def wait(self) -> None:
        """Until workers have no task."""
        with self.changed:
            self.changed.wait_for(lambda: self.away == 0)


class _Helpers:
    """Worker processes taking tasks from the back, each through a thread of this process that waits on it."""

    def __init__(self, work: Callable[[T], R], tasks: Sequence[T], ends: _Ends, done: dict[int, R], count: int):
        # spawn, not fork: forking a process whose polars thread pool is running can deadlock the child
        self.pool = ProcessPoolExecutor(max_workers=count, mp_context=multiprocessing.get_context("spawn"))
        self.ends, self.done, self.failed = ends, done, []
        for _ in range(count):
            threading.Thread(target=self._help, args=(work, tasks), daemon=True).start()

    def _help(self, work: Callable[[T], R], tasks: Sequence[T]) -> None:
        self.pool.submit(_ready, work).result()
        while (i := self.ends.take(back=True)) is not None:
            try:
                self.done[i] = self.pool.submit(work, tasks[i]).result()
            except BaseException as error:  # raised in this process once the workers' other tasks are done
                self.failed.append(error)
                self.ends.cancel()
            finally:
                self.ends.returned()

    def stop(self, wait: bool) -> None:
        """Hand out no more tasks and, if `wait`, let the workers finish those they took and raise any one's error;
        a worker still starting is not waited for: it ends once started."""
        self.ends.cancel()
        if wait:
            self.ends.wait()
        self.pool.shutdown(wait=False, cancel_futures=True)
        if wait and self.failed:
            raise self.failed[0]


def _ready(work: Any) -> None:
    """Nothing: a worker that ran it has imported the module of `work`, so it is ready for a task."""

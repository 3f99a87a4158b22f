"""A generator's tasks, run side by side in threads of this process.

The heavy work of a task (numpy draws, polars frames, writing CSV) runs outside the GIL, so threads keep the cores
busy and start at once: worker processes each spent about a second importing polars, numpy and faker first
(measured: `generate telecom` 2.95 -> 2.67 s, meters at scale 1 1.50 -> 1.26 s, at scale 100 the same). A task
draws from its own random streams and writes its own files, so the output is the same whichever thread runs it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import TypeVar

from core.progress import progress

T = TypeVar("T")
R = TypeVar("R")


def run_tasks(work: Callable[[T], R], tasks: Sequence[T], workers: int, desc: str) -> list[R]:
    """Run `work` on every task in up to `workers` threads; results in task order. A task that fails stops the
    tasks not yet started, and its error is raised once those running have finished."""
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(tasks)))) as pool:
        futures = [pool.submit(work, task) for task in tasks]
        try:
            for future in progress(as_completed(futures), desc=desc, unit="task", total=len(futures)):
                future.result()
        except BaseException:
            for future in futures:
                future.cancel()
            raise
        return [future.result() for future in futures]

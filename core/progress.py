"""Progress bars on a terminal, silence elsewhere (CI logs, pipes)."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import TypeVar

from tqdm import tqdm

T = TypeVar("T")


def progress(items: Iterable[T], desc: str, unit: str = "it", total: int | None = None) -> Iterable[T]:
    return tqdm(items, desc=desc, unit=unit, total=total, leave=False, file=sys.stderr, disable=None)

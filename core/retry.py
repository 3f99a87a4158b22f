"""Retries for what can fail transiently (reading a file on a busy disk or network share), never for bad data.

An action raising OSError is attempted three times in all, 0.2 s then 0.4 s apart; if it still fails it becomes one
clear LakehouseError naming what failed. A PermissionError is not transient: it is raised at once, for the caller
to decide (bronze refuses such a file). Data problems are not OSErrors, so they fail fast (or are quarantined).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from core import logs
from core.errors import LakehouseError

T = TypeVar("T")
ATTEMPTS = 3
FIRST_DELAY = 0.2


def with_retries(action: Callable[[], T], what: str) -> T:
    delay = FIRST_DELAY
    for attempt in range(1, ATTEMPTS):
        try:
            return action()
        except PermissionError:  # not transient: the caller decides
            raise
        except OSError as error:
            logs.event(
                "retry",
                f"warning: {what} failed ({error.strerror or error}); trying again in {delay:.1f} s",
                logging.WARNING,
                attempt=attempt,
            )
            time.sleep(delay)
            delay *= 2
    try:
        return action()
    except PermissionError:
        raise
    except OSError as error:
        raise LakehouseError(
            f"{what} failed {ATTEMPTS} times ({error.strerror or error}); check the disk or share, then run again"
        ) from None

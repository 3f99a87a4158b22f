"""Crash points for testing atomic publication, in the way Delta Lake and Iceberg tests inject failures.

Setting LAKEHOUSE_CRASH_AT=<point>:<layer_domain.table> makes the process kill itself with SIGKILL when it
reaches that point for that table, exactly as a power cut or `kill -9` would; LAKEHOUSE_FAIL_READS=N fails the
first N bronze reads with an I/O error. Unset, they do nothing.
"""

import os
import signal

from contracts.schema import Table

ENV = "LAKEHOUSE_CRASH_AT"
FAIL_READS_ENV = "LAKEHOUSE_FAIL_READS"  # the first N bronze reads of the process fail, as a flaky disk would


def point(name: str, table: Table) -> None:
    if os.environ.get(ENV) == f"{name}:{table.qualified_name}":
        os.kill(os.getpid(), signal.SIGKILL)


def failed_read() -> None:
    """Raise EIO while LAKEHOUSE_FAIL_READS counts down (tests of the read retries)."""
    remaining = int(os.environ.get(FAIL_READS_ENV, "0"))
    if remaining > 0:
        os.environ[FAIL_READS_ENV] = str(remaining - 1)
        raise OSError(5, "Input/output error (injected)")

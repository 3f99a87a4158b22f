"""Crash points for testing atomic publication, in the way Delta Lake and Iceberg tests inject failures.

Setting LAKEHOUSE_CRASH_AT=<point>:<layer_domain.table> makes the process kill itself with SIGKILL when it
reaches that point for that table, exactly as a power cut or `kill -9` would; LAKEHOUSE_FAIL_READS=N fails the
first N bronze reads with an I/O error, LAKEHOUSE_DENY_READS=<text> denies reading the files whose path contains it.
Unset, they do nothing.
"""

import os
import signal

from contracts.schema import Table

ENV = "LAKEHOUSE_CRASH_AT"
FAIL_READS_ENV = "LAKEHOUSE_FAIL_READS"  # the first N bronze reads of the process fail, as a flaky disk would
DENY_READS_ENV = "LAKEHOUSE_DENY_READS"  # bronze files whose path contains this cannot be read


def point(name: str, table: Table) -> None:
    if os.environ.get(ENV) == f"{name}:{table.qualified_name}":
        os.kill(os.getpid(), signal.SIGKILL)


def failed_read(path: object = "") -> None:
    """Raise EIO while LAKEHOUSE_FAIL_READS counts down (tests of the read retries), and EACCES for files whose
    path contains LAKEHOUSE_DENY_READS (a file the lake may not read, which tests running as root cannot make)."""
    denied = os.environ.get(DENY_READS_ENV)
    if denied and denied in str(path):
        raise PermissionError(13, "Permission denied (injected)")
    remaining = int(os.environ.get(FAIL_READS_ENV, "0"))
    if remaining > 0:
        os.environ[FAIL_READS_ENV] = str(remaining - 1)
        raise OSError(5, "Input/output error (injected)")

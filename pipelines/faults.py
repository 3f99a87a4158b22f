"""Crash points for testing atomic publication, in the way Delta Lake and Iceberg tests inject failures.

Setting LAKEHOUSE_CRASH_AT=<point>:<layer_domain.table> makes the process kill itself with SIGKILL when it
reaches that point for that table, exactly as a power cut or `kill -9` would. Unset, this does nothing.
"""

import os
import signal

from contracts.schema import Table

ENV = "LAKEHOUSE_CRASH_AT"


def point(name: str, table: Table) -> None:
    if os.environ.get(ENV) == f"{name}:{table.qualified_name}":
        os.kill(os.getpid(), signal.SIGKILL)

"""One run at a time per lake: an exclusive lock the kernel releases if the holder dies, even by kill -9."""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager

from pipelines.errors import LockedError
from pipelines.lake import Lake


@contextmanager
def lake_lock(lake: Lake, command: str) -> Iterator[None]:
    lake.root.mkdir(parents=True, exist_ok=True)
    fd = os.open(lake.lock_file, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 4096).decode(errors="replace").strip() or "unknown"
            raise LockedError(
                f"another lakehouse command holds the lake {lake.root} ({holder}); wait for it to finish and run again"
            ) from None
        os.ftruncate(fd, 0)
        holder = {
            "pid": os.getpid(),
            "command": command,
            "since": dt.datetime.now(dt.timezone.utc).isoformat(),
        }
        os.pwrite(fd, json.dumps(holder).encode(), 0)
        yield
    finally:
        os.close(fd)

"""One run at a time per lake: an exclusive lock the kernel releases if the holder dies, even by kill -9."""

from __future__ import annotations

import datetime as dt
import errno
import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager

from core.errors import LakehouseError, LockedError, ReadOnlyLakeError
from core.lake import Lake

_READ_ONLY = (errno.EROFS, errno.EACCES, errno.EPERM)


@contextmanager
def lake_lock(lake: Lake, command: str) -> Iterator[None]:
    # Made before the lock is taken, so that a competitor finds the previous holder's line (or none) only for as long
    # as it takes to write this one.
    holder = json.dumps({"pid": os.getpid(), "command": command, "since": dt.datetime.now(dt.timezone.utc).isoformat()})
    fd = _open(lake)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            held_by = os.read(fd, 4096).decode(errors="replace").strip() or "unknown"
            raise LockedError(
                f"another lakehouse command holds the lake {lake.root} ({held_by}); wait for it to finish and run again"
            ) from None
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, holder.encode(), 0)
        except OSError as error:  # a full disk: said now, in one line, before the command writes anything else
            raise LakehouseError(f"cannot write to the lake {lake.root}: {error.strerror}") from None
        yield
    finally:
        os.close(fd)


def _open(lake: Lake) -> int:
    """The lock file, created with the lake's folder if need be. A folder that cannot hold it is the user's to fix
    (a lake root that is a file, a read-only file system), and said in one line."""
    if lake.root.exists() and not lake.root.is_dir():
        raise LakehouseError(f"the lake root {lake.root} is a file, not a folder; point --data-dir at a folder")
    try:
        lake.root.mkdir(parents=True, exist_ok=True)
        return os.open(lake.lock_file, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as error:
        if error.errno in _READ_ONLY:
            raise ReadOnlyLakeError(
                f"the lake {lake.root} cannot be written ({error.strerror}: {error.filename}); commands that change "
                "it need a writable folder"
            ) from None
        raise LakehouseError(f"cannot open the lake {lake.root}: {error.strerror}: {error.filename}") from None

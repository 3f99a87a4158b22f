"""Errors a user can act on: the CLI prints them as one line and exits non-zero, never with a traceback."""

import errno


class LakehouseError(Exception):
    """A problem with the input, the configuration or the lake that the user can fix."""

    exit_code = 2


class ReadOnlyLakeError(LakehouseError):
    """The lake's folder cannot be written (a read-only file system, no permission): no command that changes it can
    run, though what is published there can still be read."""


class LockedError(LakehouseError):
    """Another run holds the lake."""

    exit_code = 3


class ConservationError(LakehouseError):
    """A table could not account for every bronze row; it is not published."""

    exit_code = 4


class CheckFailedError(LakehouseError):
    """A gold model failed its contract checks; its last good version stays published."""

    exit_code = 5


# What the machine refuses (not a lakehouse bug): a full disk, a read-only or forbidden folder, a lock held elsewhere.
_STORAGE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOTDIR, errno.EISDIR}
_STORAGE_MESSAGES = ("No space left on device", "Read-only file system", "Permission denied", "Conflicting lock")


def storage_problem(error: BaseException) -> str | None:
    """One line saying what the storage refused, if that is what `error` (or what caused it) is: polars and DuckDB
    wrap the operating system's error in their own."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, OSError) and error.errno in _STORAGE_ERRNOS:
            where = f": {error.filename}" if error.filename else ""
            return f"{error.strerror}{where}; free some space or fix the folder's permissions, then run again"
        message = str(error)
        if any(text in message for text in _STORAGE_MESSAGES):
            return f"{message.strip().splitlines()[0]}; free some space or fix the folder's permissions, then run again"
        error = error.__cause__ or error.__context__
    return None

"""Errors a user can act on: the CLI prints them as one line and exits non-zero, never with a traceback."""


class LakehouseError(Exception):
    """A problem with the input, the configuration or the lake that the user can fix."""

    exit_code = 2


class LockedError(LakehouseError):
    """Another run holds the lake."""

    exit_code = 3


class ConservationError(LakehouseError):
    """A table could not account for every bronze row; it is not published."""

    exit_code = 4


class CheckFailedError(LakehouseError):
    """A gold model failed its contract checks; its last good version stays published."""

    exit_code = 5

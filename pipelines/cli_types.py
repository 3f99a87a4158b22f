"""Argument types of the `lakehouse` command: a bad value is one line that says what was expected."""

from __future__ import annotations

import argparse
import datetime as dt


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be above 0")
    return value


def date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2024-01-31") from None


def compact_date(text: str) -> dt.date:
    """A day written YYYYMMDD, as report names carry it."""
    problem = argparse.ArgumentTypeError(f"{text!r} is not a date like 20250513")
    if len(text) != 8 or not (text.isascii() and text.isdigit()):
        raise problem
    try:
        return dt.datetime.strptime(text, "%Y%m%d").date()
    except ValueError:
        raise problem from None


def datetime(text: str) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a time like 2024-01-01 or 2024-01-01T06:00") from None

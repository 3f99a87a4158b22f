"""Argument types of the `lakehouse` command: a bad value is one line that says what was expected."""

from __future__ import annotations

import argparse
import datetime as dt
import re

_SECONDS = {"s": 1, "m": 60, "h": 3600}


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


def interval(text: str) -> float:
    """Seconds between refresh cycles: '5m' -> 300.0; also '30s', '1h' or plain seconds."""
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([smh]?)\s*", text)
    if not match or float(match.group(1)) <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive interval such as 30s, 5m or 1h")
    return float(match.group(1)) * _SECONDS[match.group(2) or "s"]


def memory_limit(text: str) -> str:
    """A DuckDB memory limit (2GB, 512MiB, 75% of the machine's memory...), judged by DuckDB itself on a scratch
    connection, so that a bad one stops the command before any work instead of when gold starts. Reading the
    limit back needs a little memory, which refuses limits too small for DuckDB to run anything (2KB)."""
    import duckdb

    con = duckdb.connect()
    try:
        con.execute("set memory_limit = ?", [text])
        con.execute("select current_setting('memory_limit')").fetchall()
    except duckdb.Error as error:
        reason = str(error).splitlines()[0].split(": ", 1)[-1]
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a memory limit such as 2GB, 512MiB or 75% ({reason})"
        ) from None
    finally:
        con.close()
    return text


def port(text: str) -> int:
    value = positive_int(text)
    if value > 65_535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port: give one from 1 to 65535")
    return value

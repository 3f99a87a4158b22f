"""The ratings generator: every agency's daily file, a full load of its customers, named as the source's files.

`bronze/ratings/agency_files/<YYYY-MM-DD>/Customer Rating Agency <X> Inc.csv`, CRLF like the real files. Each
agency rates a stable pool of customers; each day's file rates most of them again, with new ratings. A file is a
pure function of the seed, its agency and its day, so the bronze is byte-identical for any number of workers.
The dirt injected (letters and overflow in numbers, blank lines, short and long rows, long statuses) is recorded in
the ledger with the rule silver must name.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import polars as pl

from contracts.ratings.silver import HIGH_VALUE, customer_ratings_history
from generators.core import TableFile, count_file, pick, remember_parameters, rng_for, run_tasks
from bronze.reader import FIELD_COUNT
from generators.dirt import insert_copies, ledger, tag, untagged
from generators.ratings.params import RatingsDirt, RatingsParams
from pipelines.lake import Lake

__all__ = ["RatingsDirt", "RatingsParams", "generate", "agency_name"]

NUMBERS = ("customer_number", "customer_rating", "customer_rating_limit")
FIRST_CUSTOMER = 1_111_500_000  # the real files' customer numbers: 1111xxxxxx
POOL = 1.25  # customers an agency rates over time, per customer in a file
NEWLINE = "\r\n"
_DEFECTS = ("letters", "overflow", "short", "long", "long_status")
LONG_STATUS = "high-value customer reviewed monthly"  # longer than varchar(25)
LINE = "_line"


@dataclass(frozen=True)
class _File:
    root: str
    params: RatingsParams
    agency: int
    day: dt.date


def agency_name(index: int) -> str:
    """A, B, ..., Z, AA, AB, ...: the agencies' letters."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def generate(lake: Lake, params: RatingsParams, workers: int) -> dict[str, dict[str, int]]:
    """Write every agency's file of every day; files already written are left as they are."""
    remember_parameters(lake, "ratings", asdict(params), extendable={"days"})  # more days only add files
    tasks = [_File(str(lake.root), params, a, day) for day in params.dates() for a in range(params.agencies)]
    totals: dict[str, dict[str, int]] = {}
    for written, rows in run_tasks(_write_file, _chunks(tasks, workers), workers, desc="generate ratings"):
        for w, r in zip(written, rows):
            count_file(totals, "agency_files", w, r)
    return totals


def _chunks(tasks: list[_File], workers: int) -> list[list[_File]]:
    """Files in groups (thousands of tiny files: one task each would cost more than writing them)."""
    size = max(1, min(200, len(tasks) // (workers * 4) or 1))
    return [tasks[i : i + size] for i in range(0, len(tasks), size)]


def _write_file(group: list[_File]) -> tuple[list[bool], list[int]]:
    written, rows = [], []
    for task in group:
        file = agency_file(task.params, task.agency, task.day)
        w, r = file.write(Lake(Path(task.root)))
        written.append(w)
        rows.append(r)
    return written, rows


def agency_file(params: RatingsParams, agency: int, day: dt.date) -> TableFile:
    """One agency's file of one day, with its ledger."""
    pool = _pool(params, agency)
    rng = rng_for(params.seed, "ratings", agency, day.isoformat())
    n = min(params.customer_count, len(pool))
    rating = rng.integers(50_000, 520_000, n)
    frame = pl.DataFrame(
        {
            "customer_number": rng.choice(pool, n, replace=False),
            "customer_rating": rating,
            "customer_rating_limit": rating + rng.integers(0, 300_000, n),
            "customer_status": np.where(rng.random(n) < 0.25, HIGH_VALUE, "low-value"),
        }
    ).with_columns(pl.col(c).cast(pl.String) for c in NUMBERS)
    frame, lines = _dirty(untagged(frame), rng, params.dirt)
    name = f"{day.isoformat()}/Customer Rating Agency {agency_name(agency)} Inc.csv"
    return TableFile(customer_ratings_history, name, lines, ledger(frame), NEWLINE)


def _pool(params: RatingsParams, agency: int) -> np.ndarray:
    rng = rng_for(params.seed, "ratings-pool", agency)
    size = max(1, round(params.customer_count * POOL))
    return FIRST_CUSTOMER + rng.choice(400_000, size, replace=False)


def _dirty(frame: pl.DataFrame, rng: np.random.Generator, dirt: RatingsDirt) -> tuple[pl.DataFrame, pl.Series]:
    """Break rows as the ledger says, one defect a row at most; returns the rows as they end up (blank lines
    among them, each tagged) and their CSV lines."""
    n = len(frame)
    kind = np.full(n, "", dtype=object)
    for defect in _DEFECTS:
        kind[(kind == "") & pick(rng, n, getattr(dirt, defect))] = defect
    padded = pick(rng, n, dirt.padded) & (kind == "")
    which = pl.lit(pl.Series(np.array(NUMBERS)[rng.integers(0, len(NUMBERS), n)]))  # the number a defect hits
    letter = pl.lit(pl.Series(np.array(list("abcdxyz"))[rng.integers(0, 7, n)]))
    sign = np.where(rng.random(n) < 0.5, 1, -1)
    overflow = pl.lit(pl.Series(sign * (2**31 + rng.integers(0, 10**9, n))).cast(pl.String))

    def is_(name: str | np.ndarray) -> pl.Expr:
        return pl.lit(pl.Series(kind == name if isinstance(name, str) else name))

    frame = frame.with_columns(
        pl.when(is_("letters") & (which == name))
        .then(pl.col(name).str.slice(0, 4) + letter + pl.col(name).str.slice(5))
        .when(is_("overflow") & (which == name))
        .then(overflow)
        .when(is_(padded) & (which == name))
        .then(pl.lit(" +") + pl.col(name) + pl.lit(" "))
        .otherwise(pl.col(name))
        .alias(name)
        for name in NUMBERS
    ).with_columns(
        pl.when(is_("long_status")).then(pl.lit(LONG_STATUS)).otherwise("customer_status").alias("customer_status")
    )
    frame = tag(frame, kind == "letters", "letters", which + pl.lit(":type"))
    frame = tag(frame, kind == "overflow", "overflow", which + pl.lit(":range"))
    frame = tag(frame, kind == "long_status", "long_status", pl.lit("customer_status:length"))
    frame = tag(frame, kind == "short", "short", pl.lit(FIELD_COUNT))
    frame = tag(frame, kind == "long", "long", pl.lit(FIELD_COUNT))
    line = pl.concat_str(*NUMBERS, "customer_status", separator=",")
    line = (
        pl.when(is_("short"))
        .then(pl.concat_str(*NUMBERS, separator=","))
        .when(is_("long"))
        .then(line + pl.lit(",EXTRA"))
        .otherwise(line)
    )
    frame = frame.with_columns((line + NEWLINE).alias(LINE))
    blank = pl.lit(NEWLINE).alias(LINE)  # an empty line after each chosen row
    frame = insert_copies(frame, pick(rng, n, dirt.blank), "blank", pl.lit("row:blank"), [blank])
    return frame, frame.get_column(LINE)

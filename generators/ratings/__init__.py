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

from bronze.records import FIELD_COUNT
from contracts.ratings.silver import HIGH_VALUE, customer_ratings_history
from core.lake import Lake
from generators.core import TableFile, count_file, csv_header, pick, remember_parameters, rng_for
from generators.dirt import insert_copies, ledger, tag, untagged
from generators.ratings.params import RatingsDirt, RatingsParams
from generators.tasks import run_tasks

__all__ = ["RatingsDirt", "RatingsParams", "agency_name", "generate"]

NUMBERS = ("customer_number", "customer_rating", "customer_rating_limit")
FIRST_CUSTOMER = 1_111_500_000  # the real files' customer numbers: 1111xxxxxx
POOL = 1.25  # customers an agency rates over time, per customer in a file
NEWLINE = "\r\n"
_DEFECTS = ("letters", "overflow", "short", "long", "long_status")
LONG_STATUS = "high-value customer reviewed monthly"  # longer than varchar(25)
LINE = "_line"
FILE = "_file"  # which file of a task a row belongs to
FILES_A_TASK = 250


@dataclass(frozen=True)
class _Files:
    """A task: the files of some agencies on some days."""

    root: str
    params: RatingsParams
    agencies: range
    days: tuple[dt.date, ...]


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
    agencies = [range(a, min(a + FILES_A_TASK, params.agencies)) for a in range(0, params.agencies, FILES_A_TASK)]
    dates = params.dates()
    tasks = [
        _Files(str(lake.root), params, some, tuple(dates[d : d + FILES_A_TASK // len(some)]))
        for some in agencies
        for d in range(0, len(dates), FILES_A_TASK // len(some))
    ]
    totals: dict[str, dict[str, int]] = {}
    for written in run_tasks(_write_files, tasks, workers, desc="generate ratings"):
        for w, rows in written:
            count_file(totals, "agency_files", w, rows)
    return totals


def _write_files(task: _Files) -> list[tuple[bool, int]]:
    """Write a task's files; a day whose files are all there already is not made again (the parameters are the
    recorded ones, so it would be the same: adding a day costs that day)."""
    lake = Lake(Path(task.root))
    folder = lake.bronze_dir(customer_ratings_history.domain, customer_ratings_history.bronze_dir_name)
    done = [day for day in task.days if all((folder / _name(a, day)).exists() for a in task.agencies)]
    todo = tuple(day for day in task.days if day not in done)
    made = [file.write(lake) for file in agency_files(task.params, task.agencies, todo)] if todo else []
    return made + [(False, 0)] * (len(done) * len(task.agencies))


def _name(agency: int, day: dt.date) -> str:
    return f"{day.isoformat()}/Customer Rating Agency {agency_name(agency)} Inc.csv"


def agency_files(params: RatingsParams, agencies: range, days: tuple[dt.date, ...]) -> list[TableFile]:
    """The files of `agencies` on `days`, with their ledgers. Each file's values come from its own random stream
    (so a file does not depend on which others are made with it); the text is made for all of them at once."""
    files = [(day, agency) for day in days for agency in agencies]
    draws = [_draw(params, agency, day) for day, agency in files]
    drawn = {name: np.concatenate([d[name] for d in draws]) for name in draws[0]}
    numbers = np.repeat(np.arange(len(files)), [len(d["_kind"]) for d in draws])
    frame = _dirty(pl.DataFrame({FILE: numbers} | drawn).with_columns(pl.col(*NUMBERS, "_overflow").cast(pl.String)))
    header = csv_header(customer_ratings_history, NEWLINE)
    texts = frame.group_by(FILE).agg((pl.lit(header) + pl.col(LINE).str.join("")).alias(LINE), pl.len())
    contents = {file: (text.encode(), rows) for file, text, rows in texts.iter_rows()}  # a row per file
    ledgers = ledger(frame, FILE).partition_by(FILE, as_dict=True, include_key=False)
    empty = ledger(frame.clear())
    return [
        TableFile(customer_ratings_history, _name(agency, day), *contents[number], ledgers.get((number,), empty))
        for number, (day, agency) in enumerate(files)
    ]


def _draw(params: RatingsParams, agency: int, day: dt.date) -> dict[str, np.ndarray]:
    """One file's rows and the defects chosen for them, as numbers (one defect a row at most)."""
    rng = rng_for(params.seed, "ratings", agency, day.isoformat())
    pool = _pool(params, agency)
    n = min(params.customer_count, len(pool))
    rating = rng.integers(50_000, 520_000, n)
    kind = np.full(n, "", dtype=object)
    for defect in _DEFECTS:
        kind[(kind == "") & pick(rng, n, getattr(params.dirt, defect))] = defect
    sign = np.where(rng.random(n) < 0.5, 1, -1)
    return {
        "customer_number": rng.choice(pool, n, replace=False),
        "customer_rating": rating,
        "customer_rating_limit": rating + rng.integers(0, 300_000, n),
        "customer_status": np.where(rng.random(n) < 0.25, HIGH_VALUE, "low-value"),
        "_kind": kind.astype(str),
        "_padded": pick(rng, n, params.dirt.padded) & (kind == ""),
        "_which": np.array(NUMBERS)[rng.integers(0, len(NUMBERS), n)],  # the number a defect hits
        "_letter": np.array(list("abcdxyz"))[rng.integers(0, 7, n)],
        "_overflow": sign * (2**31 + rng.integers(0, 10**9, n)),
        "_blank": pick(rng, n, params.dirt.blank),  # an empty line after the row
    }


def _pool(params: RatingsParams, agency: int) -> np.ndarray:
    rng = rng_for(params.seed, "ratings-pool", agency)
    size = max(1, round(params.customer_count * POOL))
    return FIRST_CUSTOMER + rng.choice(400_000, size, replace=False)


def _dirty(frame: pl.DataFrame) -> pl.DataFrame:
    """Break the rows as drawn and tag them for the ledger; the rows as they end up (blank lines among them) with
    their CSV lines."""
    kind, which = pl.col("_kind"), pl.col("_which")
    frame = frame.with_columns(
        pl.when((kind == "letters") & (which == name))
        .then(pl.col(name).str.slice(0, 4) + pl.col("_letter") + pl.col(name).str.slice(5))
        .when((kind == "overflow") & (which == name))
        .then(pl.col("_overflow"))
        .when(pl.col("_padded") & (which == name))
        .then(pl.lit(" +") + pl.col(name) + pl.lit(" "))
        .otherwise(pl.col(name))
        .alias(name)
        for name in NUMBERS
    ).with_columns(
        pl.when(kind == "long_status").then(pl.lit(LONG_STATUS)).otherwise("customer_status").alias("customer_status")
    )
    rules = {
        "letters": which + pl.lit(":type"),
        "overflow": which + pl.lit(":range"),
        "long_status": pl.lit("customer_status:length"),
        "short": pl.lit(FIELD_COUNT),
        "long": pl.lit(FIELD_COUNT),
    }
    frame = untagged(frame)
    for defect, rule in rules.items():
        frame = tag(frame, frame.get_column("_kind") == defect, defect, rule)
    line = pl.concat_str(*NUMBERS, "customer_status", separator=",")
    line = (
        pl.when(kind == "short")
        .then(pl.concat_str(*NUMBERS, separator=","))
        .when(kind == "long")
        .then(line + pl.lit(",EXTRA"))
        .otherwise(line)
    )
    frame = frame.with_columns((line + NEWLINE).alias(LINE))
    blank = pl.lit(NEWLINE).alias(LINE)
    return insert_copies(frame, frame.get_column("_blank").to_numpy(), "blank", pl.lit("row:blank"), [blank])

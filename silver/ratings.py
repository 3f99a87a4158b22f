"""Ratings silver logic beyond the contract: which agency a file loads and of which day, from its name alone.

An agency drops files under any name. Its id is the first word after `Agency` in the file's name, lowercased and
stripped to [a-z0-9], prefixed `agency_` ("Customer Rating Agency A Inc.csv" -> agency_a); a name without one is a
slug of the whole name. Accents are dropped first (Ü -> u) and a date in the name is no part of the id, so two
names of one agency on two days are one agency. An id is always [a-z0-9_], at most MAX_ID characters: safe in
any SQL text, identifier or path. The file's date is the first YYYYMMDD or YYYY-MM-DD in its name, else in the
nearest folder above it that has one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import unicodedata
from collections.abc import Mapping
from pathlib import PurePosixPath

import polars as pl

from contracts.ratings.silver import customer_ratings_history
from silver.quarantine import FILE
from silver.result import row_wise

MAX_ID = 48
TABLE_PREFIX = "customer_rating_"  # the source's table of agency X: customer_rating_agency_x
_DATE = re.compile(r"(?<![0-9])([0-9]{4})(-?)([0-9]{2})\2([0-9]{2})(?![0-9])")
_AGENCY_WORD = re.compile(r"(?<![a-z0-9])agency[\s_-]+([^\s_]+)")


def agency_of(source_file: str) -> str:
    """The agency id a file's name gives."""
    stem = _ascii(PurePosixPath(source_file).stem).lower()
    stem = _DATE.sub(" ", stem)
    word = _AGENCY_WORD.search(stem)
    named = re.sub(r"[^a-z0-9]", "", word.group(1)) if word else ""
    agency = f"agency_{named}" if named else (_slug(stem) or "unnamed")
    if len(agency) <= MAX_ID:
        return agency
    return f"{agency[: MAX_ID - 9]}_{hashlib.sha1(agency.encode()).hexdigest()[:8]}"


def date_of(source_file: str) -> dt.date | None:
    """The first date in the file's name, else in the nearest folder name that has one."""
    path = PurePosixPath(source_file)
    for name in (path.stem, *(p.name for p in path.parents)):
        for match in _DATE.finditer(name):
            try:
                return dt.date(int(match[1]), int(match[3]), int(match[4]))
            except ValueError:  # 20251399 is no date
                continue
    return None


def file_names(source_files: pl.Series) -> pl.DataFrame:
    """The agency and date of each distinct file (a few per batch of rows: named once each)."""
    files = source_files.unique().to_list()
    return pl.DataFrame(
        {FILE: files, "agency_id": [agency_of(f) for f in files], "file_date": [date_of(f) for f in files]},
        schema={FILE: pl.String, "agency_id": pl.String, "file_date": pl.Date},
    )


@row_wise
def from_file_name(rows: pl.DataFrame, parents: Mapping[str, pl.DataFrame]) -> pl.DataFrame:
    """Each row's agency and file date, from its file's name."""
    return rows.join(file_names(rows.get_column(FILE)), on=FILE, how="left", maintain_order="left")


def _ascii(text: str) -> str:
    """Accents dropped, anything else not ASCII (and bytes that were not UTF-8) removed."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


DERIVATIONS = {customer_ratings_history.name: from_file_name}

"""Rows that did not reach silver, kept with their context: invalid rows and removed duplicates.

One quarantine file per bronze file that had any, under the table version's `quarantine/` directory. Each row
has the source file and line, the raw line, the raw value of every contract column, every failed rule, its
disposition (`invalid` or `duplicate`), the row it duplicates and the run that set it aside.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import polars as pl

from bronze.reader import LINE, RAW, BronzeReader, strip_terminators
from contracts.schema import Table

FILE = "_source_file"
RUN = "_run_id"
DISPOSITION = "disposition"
DUPLICATE_OF = "duplicate_of"
INVALID, DUPLICATE = "invalid", "duplicate"
EMPTY_PART = "empty.parquet"  # keeps an empty quarantine readable, with its schema


def schema(table: Table) -> dict[str, pl.DataType]:
    return {
        FILE: pl.String(),
        LINE: pl.Int64(),
        RAW: pl.String(),
        DISPOSITION: pl.String(),
        "failed_rules": pl.List(pl.String()),
        DUPLICATE_OF: pl.String(),
        RUN: pl.String(),
        **{c.name: pl.String() for c in table.source_columns},
    }


def part_name(source_file: str) -> str:
    """The quarantine file of one bronze file."""
    return hashlib.sha1(source_file.encode()).hexdigest()[:16] + ".parquet"


def invalid_rows(raw: pl.DataFrame, rules: pl.Series, run_id: str, table: Table) -> pl.DataFrame:
    """Quarantine rows for the raw records (with their source file) whose rule list is not empty."""
    failed = rules.list.len() > 0
    return (
        raw.filter(failed)
        .with_columns(
            strip_terminators(pl.col(RAW)).alias(RAW),
            pl.lit(INVALID).alias(DISPOSITION),
            rules.filter(failed).alias("failed_rules"),
            pl.lit(None, pl.String).alias(DUPLICATE_OF),
            pl.lit(run_id).alias(RUN),
        )
        .select(list(schema(table)))
    )


def duplicate_rows(losers: pl.DataFrame, run_id: str, table: Table) -> pl.DataFrame:
    """Quarantine rows for typed rows removed as duplicates; values are shown as text."""
    return losers.select(
        FILE,
        LINE,
        RAW,
        pl.lit(DUPLICATE).alias(DISPOSITION),
        pl.lit(["key:duplicate"]).alias("failed_rules"),
        DUPLICATE_OF,
        pl.lit(run_id).alias(RUN),
        *[pl.col(c.name).cast(pl.String) for c in table.source_columns],
    )


def waiting_for_parent() -> pl.Expr:
    """Invalid rows that failed a foreign key: validated again whenever a parent changes, so that they load once
    their parent arrives and their list of failed rules stays what a rebuild would say."""
    fk = pl.col("failed_rules").list.eval(pl.element().str.starts_with("fk:")).list.any()
    return (pl.col(DISPOSITION) == INVALID) & fk


def fetch_raw_lines(bronze_root: Path, table: Table, wanted: pl.DataFrame) -> pl.DataFrame:
    """The raw text of given (file, line) pairs, read back from the immutable bronze files."""
    found = []
    for source_file, lines in wanted.group_by(FILE):
        reader = BronzeReader(bronze_root / source_file[0], [c.name for c in table.source_columns])
        for chunk in reader:
            hit = chunk.filter(pl.col(LINE).is_in(lines.get_column(LINE).implode()))
            found.append(hit.select(pl.lit(source_file[0]).alias(FILE), LINE, strip_terminators(pl.col(RAW))))
    return pl.concat(found) if found else pl.DataFrame(schema={FILE: pl.String, LINE: pl.Int64, RAW: pl.String})

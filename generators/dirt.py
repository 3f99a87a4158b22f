"""Dirty data that real feeds carry, injected on purpose and recorded in a ledger.

Rows are tagged in `_dirt` (kinds separated by ';') with a `_detail`; the ledger written next to bronze lists
every tagged row with its final line number, so tests can check that silver caught exactly what was injected.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from contracts.schema import Table
from generators.core import csv_lines, ledger_rows, pick

BAD_NUMBERS = ("n/a", "ERR", "12..5", "#VALUE!", "--")
MALFORMED_NUMBER = "malformed_number"
MALFORMED_COLUMNS = "malformed_columns"
DUPLICATE = "duplicate"


def untagged(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(pl.lit(None, pl.String).alias("_dirt"), pl.lit(None, pl.String).alias("_detail"))


def tag(frame: pl.DataFrame, mask: np.ndarray | pl.Series, kind: str, detail: pl.Expr | None = None) -> pl.DataFrame:
    """Add `kind` to the tags of the rows in `mask`."""
    chosen = pl.lit(pl.Series(mask, dtype=pl.Boolean))
    detail = detail if detail is not None else pl.lit(None, pl.String)
    return frame.with_columns(
        pl.when(chosen)
        .then(pl.concat_str([pl.col("_dirt"), pl.lit(kind)], separator=";", ignore_nulls=True))
        .otherwise(pl.col("_dirt"))
        .alias("_dirt"),
        pl.when(chosen)
        .then(pl.concat_str([pl.col("_detail"), detail], separator="; ", ignore_nulls=True))
        .otherwise(pl.col("_detail"))
        .alias("_detail"),
    )


def has(kind: str) -> pl.Expr:
    return pl.col("_dirt").str.contains(kind, literal=True).fill_null(False)


def choose_malformed(frame: pl.DataFrame, rng: np.random.Generator, rate: float, numeric: bool) -> pl.DataFrame:
    """Tag rows to be broken when written: half get a non-numeric value, half the wrong number of fields."""
    mask = pick(rng, len(frame), rate)
    as_number = mask & (rng.random(len(frame)) < 0.5) & numeric
    frame = tag(frame, as_number, MALFORMED_NUMBER)
    return tag(frame, mask & ~as_number, MALFORMED_COLUMNS)


def duplicate(frame: pl.DataFrame, rng: np.random.Generator, rate: float, detail: pl.Expr) -> pl.DataFrame:
    """Repeat some rows right after themselves (a retransmission); only the copy is tagged."""
    mask = pick(rng, len(frame), rate)
    order = np.repeat(np.arange(len(frame)), 1 + mask)
    is_copy = np.zeros(len(order), dtype=bool)
    is_copy[1:] = order[1:] == order[:-1]
    repeated = frame[order]
    cleared = repeated.with_columns(
        pl.when(pl.Series(is_copy)).then(None).otherwise(pl.col(c)).alias(c) for c in ("_dirt", "_detail")
    )
    return tag(cleared, is_copy, DUPLICATE, detail)


def render(
    text: pl.DataFrame, table: Table, rng: np.random.Generator, numeric: list[str]
) -> tuple[pl.Series, pl.DataFrame]:
    """CSV lines of a frame of text columns, breaking the rows tagged malformed; returns (lines, ledger)."""
    if numeric:
        column = rng.integers(0, len(numeric), len(text))
        token = pl.Series(np.array(BAD_NUMBERS)[rng.integers(0, len(BAD_NUMBERS), len(text))])
        text = text.with_columns(
            pl.when(has(MALFORMED_NUMBER) & pl.lit(pl.Series(column == i)))
            .then(pl.lit(token))
            .otherwise(pl.col(name))
            .alias(name)
            for i, name in enumerate(numeric)
        )
    lines = csv_lines(text, table)
    extra = pl.Series(rng.random(len(text)) < 0.5)
    broken = (
        pl.when(pl.lit(extra)).then(pl.col("line") + ",EXTRA").otherwise(pl.col("line").str.replace(r",[^,]*$", ""))
    )
    lines = (
        pl.DataFrame({"line": lines, "_dirt": text["_dirt"]})
        .select(pl.when(has(MALFORMED_COLUMNS)).then(broken).otherwise(pl.col("line")).alias("line"))
        .to_series()
    )
    return lines, ledger_rows(text)

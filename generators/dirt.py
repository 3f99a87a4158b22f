"""Dirty data that real feeds carry, injected on purpose and recorded in a ledger.

Rows carry one boolean column per kind of dirt (`_is_<kind>`) and a `_detail`; the ledger written next to bronze
lists every tagged row with its final line number, so tests can check that silver caught exactly what was
injected.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, fields
from typing import Self

import numpy as np
import polars as pl

from contracts.schema import DATE, TIMESTAMP, DataType, Table
from core.errors import LakehouseError
from generators.core import Random, Streams, TableFile, csv_header, csv_lines, empty_ledger, pick, rng_for
from generators.workbook import EXTRA as EXTRA_CELL

BAD_NUMBERS = ("n/a", "ERR", "12..5", "#VALUE!", "--")
MALFORMED_NUMBER = "malformed_number"
MALFORMED_COLUMNS = "malformed_columns"
MALFORMED_DATE = "malformed_date"
DAY_FIRST = {"date": "%d/%m/%Y", "timestamp": "%d/%m/%Y %H:%M"}  # how a malformed date is written
LONG = "_long"  # a row with the wrong number of fields has one too many (else one too few)
DUPLICATE = "duplicate"
PREFIX = "_is_"
FILE = "_file"  # which of the files rendered together a row goes to


@dataclass(frozen=True)
class DirtRates:
    """A domain's rates of injected problems, one field per kind, settable as --dirt kind=rate,..."""

    @classmethod
    def parse(cls, spec: str | None, clean: bool = False) -> Self:
        """From 'spike=0.001,missing=0' on top of the defaults (or of zero everywhere when clean)."""
        values = {f.name: 0.0 for f in fields(cls)} if clean else {}
        for item in filter(None, (spec or "").split(",")):
            name, _, rate = item.partition("=")
            name = name.strip()
            if name not in {f.name for f in fields(cls)}:
                known = ", ".join(f.name for f in fields(cls))
                raise LakehouseError(f"--dirt: unknown kind {name!r}; kinds: {known}")
            try:
                values[name] = float(rate)
            except ValueError:
                raise LakehouseError(f"--dirt: {item!r} needs a rate between 0 and 1, e.g. {name}=0.001") from None
            if not 0 <= values[name] <= 1:
                raise LakehouseError(f"--dirt: {item!r} needs a rate between 0 and 1")
        return cls(**values)


def untagged(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(pl.lit(None, pl.String).alias("_detail"))


def tag(frame: pl.DataFrame, mask: np.ndarray | pl.Series, kind: str, detail: pl.Expr | None = None) -> pl.DataFrame:
    """Mark the rows in `mask` as carrying `kind` of dirt (optionally saying more in `_detail`)."""
    chosen = pl.Series(mask, dtype=pl.Boolean)
    marked = has(frame, kind) | chosen
    columns = [marked.alias(PREFIX + kind)]
    if detail is not None:
        columns.append(pl.when(pl.lit(chosen)).then(detail).otherwise(pl.col("_detail")).alias("_detail"))
    return frame.with_columns(columns)


def has(frame: pl.DataFrame, kind: str) -> pl.Series:
    """Which rows carry `kind` of dirt."""
    name = PREFIX + kind
    return frame.get_column(name) if name in frame.columns else pl.Series(name, np.zeros(len(frame), dtype=bool))


def kinds(frame: pl.DataFrame) -> list[str]:
    return [c.removeprefix(PREFIX) for c in frame.columns if c.startswith(PREFIX)]


def choose_malformed(frame: pl.DataFrame, rng: Random, rate: float, numeric: bool) -> pl.DataFrame:
    """Tag rows to be broken when written: half get a non-numeric value, half the wrong number of fields."""
    mask = pick(rng, len(frame), rate)
    as_number = mask & (rng.random(len(frame)) < 0.5) & numeric
    frame = tag(frame, as_number, MALFORMED_NUMBER)
    return tag(frame, mask & ~as_number, MALFORMED_COLUMNS)


def duplicate(frame: pl.DataFrame, rng: Random, rate: float, detail: pl.Expr) -> pl.DataFrame:
    """Repeat some rows right after themselves (a retransmission); only the copy is tagged. Only rows without
    other dirt are repeated, so that the copy is unambiguously the duplicate of a row silver keeps."""
    tagged = [PREFIX + k for k in kinds(frame)]
    clean = ~frame.select(pl.any_horizontal(tagged)).to_series().to_numpy() if tagged else True
    return insert_copies(frame, pick(rng, len(frame), rate) & clean, DUPLICATE, detail)


def insert_copies(
    frame: pl.DataFrame, mask: np.ndarray, kind: str, detail: pl.Expr, changes: list[pl.Expr] | None = None
) -> pl.DataFrame:
    """Insert a copy of each row in `mask` right after it, with `changes` applied; only copies are tagged."""
    order = np.repeat(np.arange(len(frame)), 1 + mask)
    is_copy = np.zeros(len(order), dtype=bool)
    is_copy[1:] = order[1:] == order[:-1]
    copy = pl.lit(pl.Series(is_copy))
    tags = [c for c in frame.columns if c.startswith(PREFIX)]
    repeated = frame[order].with_columns(pl.when(copy).then(False).otherwise(pl.col(c)).alias(c) for c in tags)
    if changes:
        repeated = repeated.with_columns(
            pl.when(copy).then(change).otherwise(pl.col(change.meta.output_name())).alias(change.meta.output_name())
            for change in changes
        )
    return tag(repeated, is_copy, kind, detail)


def render(frame: pl.DataFrame, table: Table, rng: np.random.Generator, numeric: list[str], name: str) -> TableFile:
    """A CSV file of typed rows, breaking the rows tagged malformed, with its ledger."""
    [file] = render_files(frame, table, [rng], numeric, [len(frame)], [name])
    return file


def render_files(
    frame: pl.DataFrame,
    table: Table,
    rngs: list[np.random.Generator],
    numeric: list[str],
    sizes: list[int],
    names: list[str],
) -> list[TableFile]:
    """`render` for several files' rows end to end (`sizes` rows each), rendered together: each file's broken
    rows draw from its own stream (`rngs`), and its ledger counts lines from its own header.

    polars writes every row in one go; only the few broken rows are rendered field by field, and their lines put
    in place of the ones polars wrote.
    """
    ends = np.cumsum(sizes, dtype=np.int64)
    broken = _broken(frame)
    cuts = np.searchsorted(broken, np.r_[0, ends])  # file i's broken rows: broken[cuts[i]:cuts[i + 1]]
    fixed = []
    if len(broken):
        text = _broken_text(frame[broken], table, Streams(rngs, np.diff(cuts)), numeric)
        fixed = [(line + "\n").encode() for line in _broken_lines(text, table)]
    body, starts = _lines(frame.select(c.name for c in table.source_columns))
    header, ledgers = csv_header(table).encode(), _ledgers(frame, sizes)
    spans = zip((ends - sizes).tolist(), ends.tolist(), cuts, cuts[1:])
    return [
        TableFile(
            table,
            names[i],
            _file(header, body, starts[first : end + 1], broken[a:b] - first, fixed[a:b]),
            end - first,
            ledgers[i],
        )
        for i, (first, end, a, b) in enumerate(spans)
    ]


def _file(header: bytes, body: memoryview, starts: np.ndarray, broken: np.ndarray, fixed: list[bytes]) -> bytes:
    """The header, then the lines of `body` starting at `starts` (and ending at the last), with the lines at
    positions `broken` replaced by `fixed`."""
    pieces, done = [header], 0
    for position, line in zip(broken.tolist(), fixed):
        pieces += [body[starts[done] : starts[position]], line]
        done = position + 1
    pieces.append(body[starts[done] : starts[-1]])
    return b"".join(pieces)


def _lines(rows: pl.DataFrame) -> tuple[memoryview, np.ndarray]:
    """The CSV lines of rows, and where each starts (and the last ends). Generated fields hold no line breaks, so
    a row is a line."""
    body = io.BytesIO()
    rows.write_csv(body, include_header=False, datetime_format="%Y-%m-%d %H:%M:%S", date_format="%Y-%m-%d")
    text = body.getbuffer()
    ends = np.flatnonzero(np.frombuffer(text, dtype=np.uint8) == ord("\n")) + 1
    if len(ends) != len(rows):
        raise ValueError(f"{len(rows)} rows written as {len(ends)} lines: a field holds a line break")
    return text, np.r_[0, ends]


def _ledgers(frame: pl.DataFrame, sizes: list[int]) -> list[pl.DataFrame]:
    """The ledger of each file whose rows (`sizes` of them each) are in `frame`, end to end."""
    if len(sizes) == 1:
        return [ledger(frame)]
    untouched = ledger(frame.clear())
    if not kinds(frame):
        return [untouched] * len(sizes)
    filed = frame.with_columns(pl.Series(FILE, np.repeat(np.arange(len(sizes)), sizes)))
    ledgers = ledger(filed, FILE).partition_by(FILE, as_dict=True, include_key=False)
    return [ledgers.get((number,), untouched) for number in range(len(sizes))]


def render_cells(frame: pl.DataFrame, table: Table, rng: np.random.Generator, numeric: list[str]) -> pl.DataFrame:
    """The text of every cell of typed rows, for a workbook, broken as `render` breaks CSV lines: a row with the
    wrong number of fields has one cell too many (in column EXTRA_CELL) or loses its last."""
    columns = [c.name for c in table.source_columns]
    text = frame.select(_as_text(c.name, c.type) for c in table.source_columns)
    text = text.with_columns(pl.lit(None, pl.String).alias(EXTRA_CELL))
    broken = _broken(frame)
    if len(broken):
        fixed = _broken_text(frame[broken], table, rng, numeric)
        wrong = pl.lit(has(fixed, MALFORMED_COLUMNS))
        fixed = fixed.with_columns(
            pl.when(wrong & ~pl.col(LONG)).then(None).otherwise(pl.col(columns[-1])).alias(columns[-1]),
            pl.when(wrong & pl.col(LONG)).then(pl.lit("EXTRA")).alias(EXTRA_CELL),
        )
        text = text.with_columns(text[c].scatter(broken, fixed[c]) for c in [*columns, EXTRA_CELL])
    return text


def _broken(frame: pl.DataFrame) -> np.ndarray:
    """Positions of the rows tagged to be broken when written."""
    tagged = has(frame, MALFORMED_NUMBER) | has(frame, MALFORMED_COLUMNS) | has(frame, MALFORMED_DATE)
    return np.flatnonzero(tagged.to_numpy())


def _broken_text(rows: pl.DataFrame, table: Table, rng: Random, numeric: list[str]) -> pl.DataFrame:
    """The fields of rows to be broken as text: a non-numeric token in a number, a date written day first; and
    whether a row with the wrong number of fields gets one too many (`LONG`) or one too few."""
    text = rows.with_columns(_as_text(c.name, c.type) for c in table.source_columns)
    if numeric:
        column = pl.Series(rng.integers(0, len(numeric), len(text)))
        token = pl.Series(np.array(BAD_NUMBERS)[rng.integers(0, len(BAD_NUMBERS), len(text))])
        wrong = pl.lit(has(text, MALFORMED_NUMBER))
        text = text.with_columns(
            pl.when(wrong & (pl.lit(column) == i)).then(pl.lit(token)).otherwise(pl.col(name)).alias(name)
            for i, name in enumerate(numeric)
        )
    day_first = pl.lit(has(text, MALFORMED_DATE))
    text = text.with_columns(
        pl.when(day_first).then(rows.get_column(c.name).dt.strftime(DAY_FIRST[c.type.name])).otherwise(pl.col(c.name))
        for c in table.source_columns
        if c.type.name in DAY_FIRST
    )
    return text.with_columns(pl.Series(LONG, rng.random(len(text)) < 0.5))


def _broken_lines(text: pl.DataFrame, table: Table) -> pl.Series:
    lines = csv_lines(text, table)
    short_or_long = (
        pl.when(pl.col(LONG)).then(pl.col("l") + ",EXTRA").otherwise(pl.col("l").str.replace(r",[^,]*$", ""))
    )
    return (
        text.with_columns(lines.alias("l"))
        .select(pl.when(pl.lit(has(text, MALFORMED_COLUMNS))).then(short_or_long).otherwise(pl.col("l")))
        .to_series()
    )


def _as_text(name: str, kind: DataType) -> pl.Expr:
    if kind == TIMESTAMP:
        return pl.col(name).dt.strftime("%Y-%m-%d %H:%M:%S")
    if kind == DATE:
        return pl.col(name).dt.strftime("%Y-%m-%d")
    return pl.col(name).cast(pl.String)


def ledger(frame: pl.DataFrame, files: str | None = None) -> pl.DataFrame:
    """Ledger entries of every tagged row; `line` is its line in the file (the header is line 1). Rows of several
    files, numbered each in its own, keep the column `files` that tells them apart."""
    tagged = [PREFIX + k for k in kinds(frame)]
    if not tagged:
        return empty_ledger()
    names = [pl.when(pl.col(c)).then(pl.lit(c.removeprefix(PREFIX))) for c in tagged]
    line = pl.int_range(pl.len()).over(files) if files else pl.int_range(pl.len())
    return (
        frame.with_columns((line + 2).alias("line"))
        .filter(pl.any_horizontal(tagged))
        .select(
            *[files] * bool(files),
            pl.lit(None, pl.String).alias("file"),
            pl.col("line").cast(pl.Int64),
            pl.concat_str(names, separator=";", ignore_nulls=True).alias("kind"),
            pl.col("_detail").alias("detail"),
        )
    )


def clean_file(table: Table, rows: pl.DataFrame, seed: int) -> TableFile:
    """A whole table written as one file `<table>.csv`, without dirt (reference data, CRM extracts)."""
    return render(untagged(rows), table, rng_for(seed, table.name), [], f"{table.name}.csv")

"""Rows that did not reach silver, kept with their context: invalid rows and removed duplicates.

One quarantine file per bronze file that had any (or per group of files: `Table.quarantine_group`), under the
table version's `quarantine/` directory. Each row has the source file and line, the raw line, the raw value of
every contract column, every failed rule, its disposition (`invalid` or `duplicate`), the row it duplicates and
the run that set it aside.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections import defaultdict
from collections.abc import Collection, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import polars as pl

from bronze.reader import BronzeReader
from bronze.records import ERROR, LINE, RAW, strip_terminators
from bronze.workbook import SHEET, is_workbook, read_workbook
from contracts.schema import SOURCE_FILE, Table
from core.errors import ConservationError
from core.store import ZSTD_LEVEL

FILE = SOURCE_FILE
RUN = "_run_id"
DISPOSITION = "disposition"
DUPLICATE_OF = "duplicate_of"
INVALID, DUPLICATE = "invalid", "duplicate"
EMPTY_PART = "empty.parquet"  # keeps an empty quarantine readable, with its schema


def lineage(table: Table) -> list[str]:
    """The columns that say where a row came from: its file, its sheet (for tables fed workbooks) and its line."""
    return table.lineage


def lineage_schema(table: Table) -> dict[str, pl.DataType]:
    return {column: pl.Int64() if column == LINE else pl.String() for column in lineage(table)}


def traced(table: Table, records: pl.DataFrame, source_file: str | pl.Series) -> pl.DataFrame:
    """Records with their lineage: the source file, and no sheet for CSV lines of a table fed workbooks."""
    sheet = SHEET in lineage(table) and SHEET not in records.columns
    return records.with_columns(pl.lit(source_file).alias(FILE), *[pl.lit(None, pl.String).alias(SHEET)] * sheet)


def whole_file(table: Table, source_file: str) -> pl.DataFrame:
    """The lineage of the one record of a file refused whole (its line 1)."""
    return (
        pl.DataFrame({FILE: [source_file], LINE: [1]})
        .with_columns(*[pl.lit(None, pl.String).alias(SHEET)] * (SHEET in lineage(table)))
        .select(pl.col(c).cast(t) for c, t in lineage_schema(table).items())
    )


def location(table: Table) -> pl.Expr:
    """Where a row came from, as text: `file:line`, or `file[sheet]:line` for a workbook row."""
    sheet = [pl.lit("[") + pl.col(SHEET) + pl.lit("]")] if SHEET in lineage(table) else []
    return pl.concat_str(pl.col(FILE), *sheet, pl.lit(":"), pl.col(LINE).cast(pl.String), ignore_nulls=True)


def schema(table: Table) -> dict[str, pl.DataType]:
    return {
        **lineage_schema(table),
        RAW: pl.String(),
        DISPOSITION: pl.String(),
        "failed_rules": pl.List(pl.String()),
        DUPLICATE_OF: pl.String(),
        RUN: pl.String(),
        **{c.name: pl.String() for c in table.source_columns},
    }


def part_name(table: Table, source_file: str) -> str:
    """The quarantine file of one bronze file: its own, or its group's (`quarantine_group`; `.` matches any
    character, a newline in a hostile name too)."""
    group = re.match(table.quarantine_group, source_file, re.DOTALL) if table.quarantine_group else None
    return file_key(group.group(0) if group else source_file) + ".parquet"


def file_key(name: str) -> str:
    """A short fixed-length name for a file or folder of any name."""
    return hashlib.sha1(name.encode()).hexdigest()[:16]


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
        *lineage(table),
        RAW,
        pl.lit(DUPLICATE).alias(DISPOSITION),
        pl.lit(["key:duplicate"]).alias("failed_rules"),
        DUPLICATE_OF,
        pl.lit(run_id).alias(RUN),
        *[pl.col(c.name).cast(pl.String) for c in table.source_columns],
    )


def write_version(
    target: Path,
    table: Table,
    current: Mapping[str, Path],
    set_aside: Mapping[str, list[Path]],
    released: Mapping[str, list[pl.DataFrame]],
    read_again: Collection[str],
    threads: int,
) -> None:
    """Write a version's quarantine folder, a file per bronze file or group of files:
    - `current`: the previous version's files, hard-linked unless this run changed them;
    - `set_aside`: for a quarantine file, the files its new rows were set aside in (each read once for all the
      quarantine files it holds rows of);
    - `released`: for a quarantine file, the (file, line) of its rows that loaded now;
    - `read_again`: bronze files this run read again (`run --date`), whose earlier rows are dropped.
    Rows are in lineage order within each quarantine file.
    """
    target.mkdir(parents=True, exist_ok=True)
    where = lineage(table)
    changed = set_aside.keys() | released.keys() | current.keys() & {part_name(table, f) for f in read_again}
    for name in current.keys() - changed:
        os.link(current[name], target / name)

    def write(name: str, new: pl.DataFrame | None) -> None:
        if name not in current and name not in released:  # a new file's rows: nothing to reconcile
            new.sort(where).write_parquet(target / name, compression="zstd", compression_level=ZSTD_LEVEL)
            return
        kept = pl.read_parquet(current[name]) if name in current else pl.DataFrame(schema=schema(table))
        kept = kept.filter(~pl.col(FILE).is_in(list(read_again)))
        for rows in released.get(name, []):  # loaded now (they may come back below, as duplicates)
            kept = kept.join(rows, on=where, how="anti", nulls_equal=True)
        rows = pl.concat([kept, *([] if new is None else [new])], how="vertical_relaxed")
        rows = rows.unique(where, keep="last", maintain_order=True)
        if not rows.is_empty():
            rows.sort(where).write_parquet(target / name, compression="zstd", compression_level=ZSTD_LEVEL)

    def write_group(files: tuple[Path, ...], names: list[str]) -> None:
        rows = pl.concat([pl.read_parquet(f) for f in files], how="vertical_relaxed") if files else None
        by_name = {}
        if rows is not None:
            parts = {source: part_name(table, source) for source in rows.get_column(FILE).unique().to_list()}
            rows = rows.with_columns(pl.col(FILE).replace_strict(parts, return_dtype=pl.String).alias("_part"))
            by_name = {name: part.drop("_part") for (name,), part in rows.partition_by("_part", as_dict=True).items()}
        for name in names:
            write(name, by_name.get(name))

    groups: dict[tuple[Path, ...], list[str]] = defaultdict(list)
    for name in sorted(changed):
        groups[tuple(sorted(set(set_aside.get(name, []))))].append(name)
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda group: write_group(*group), groups.items()))
    if not any(target.iterdir()):
        pl.DataFrame(schema=schema(table)).write_parquet(target / EMPTY_PART)


def waiting_for_parent() -> pl.Expr:
    """Invalid rows that failed a foreign key: validated again whenever a parent changes, so that they load once
    their parent arrives and their list of failed rules stays what a rebuild would say."""
    fk = pl.col("failed_rules").list.eval(pl.element().str.starts_with("fk:")).list.any()
    return (pl.col(DISPOSITION) == INVALID) & fk


def with_raw_lines(rows: pl.DataFrame, bronze_root: Path, table: Table) -> pl.DataFrame:
    """Rows whose raw line was not kept in staging get it back from their immutable bronze file."""
    unread = rows.filter(pl.col(RAW).is_null())
    if unread.is_empty():
        return rows
    where = lineage(table)
    fetched = fetch_raw_lines(bronze_root, table, unread.select(where)).rename({RAW: "_read_back"})
    rows = rows.join(fetched, on=where, how="left", nulls_equal=True)
    return rows.with_columns(pl.coalesce(RAW, "_read_back").alias(RAW)).drop("_read_back")


def fetch_raw_lines(bronze_root: Path, table: Table, wanted: pl.DataFrame) -> pl.DataFrame:
    """The raw text of given rows (by lineage), read back from the immutable bronze files."""
    where = lineage(table)
    found = []
    for (source_file,), rows in wanted.group_by(FILE):
        path = bronze_root / source_file
        columns = [c.name for c in table.source_columns]
        chunks = [read_workbook(path, columns)[0]] if is_workbook(path) else BronzeReader(path, columns)
        for chunk in chunks:
            chunk = chunk.with_columns(pl.lit(source_file).alias(FILE))
            hit = chunk.join(rows.select(where), on=[c for c in where if c in chunk.columns], nulls_equal=True)
            found.append(hit.select(*where, strip_terminators(pl.col(RAW))))
    return pl.concat(found) if found else pl.DataFrame(schema={**lineage_schema(table), RAW: pl.String()})


def structure_error() -> pl.Expr:
    """A quarantined row's structural error as the reader gave it (the reader's `ERROR` column), so that a misshapen
    row validated again never loads, whatever its values."""
    first = pl.col("failed_rules").list.first()
    return pl.when(first.str.starts_with("row:")).then(first).alias(ERROR)


def account(
    table: Table, folder: Path, partitions: Mapping[str, Mapping[str, Any]], ingested: Mapping[str, Mapping[str, Any]]
) -> dict[str, int]:
    """A new version's totals from its partitions and its quarantine `folder`; refuses to publish unless every
    bronze row is accounted for: loaded, quarantined or removed as a duplicate."""
    counted = dict(pl.scan_parquet(folder / "*.parquet").group_by(DISPOSITION).len().collect().iter_rows())
    totals = {
        "bronze": sum(f["rows"] for f in ingested.values()),
        "loaded": sum(p["rows"] for p in partitions.values()),
        "quarantined": counted.get(INVALID, 0),
        "duplicates": counted.get(DUPLICATE, 0),
    }
    if totals["bronze"] != totals["loaded"] + totals["quarantined"] + totals["duplicates"]:
        raise ConservationError(
            f"{table.qualified_name} does not account for every bronze row ({totals}); the new version was not "
            "published and the previous one stays current; please report this as a bug"
        )
    return totals

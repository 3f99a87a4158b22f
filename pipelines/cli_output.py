"""How the command line prints and exports query results, so `lakehouse sql`, `lakehouse trades` and `lakehouse
history` print alike.

A table shows every column: as wide as the terminal when there is one, and without limit when the output goes to a
pipe or a file (DuckDB's own default hides columns past about 120 characters, whatever the terminal). CSV holds
each value as DuckDB's text for it, and a nested value (list, struct, map) as JSON text, which any CSV reader can
carry and any JSON parser read back. A file is written aside and renamed into place, so a reader never sees half
of it.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from core.errors import LakehouseError

if TYPE_CHECKING:  # the CLI imports this module for every command: DuckDB itself is imported by those that query
    import duckdb
    from duckdb.sqltypes import DuckDBPyType

PRINTED = ("table", "csv", "json")
EXPORTED = ("csv", "json", "parquet")
_NESTED = {"list", "struct", "map", "array", "union"}
_BATCH = 10_000  # rows fetched at a time for CSV


def print_relation(relation: duckdb.DuckDBPyRelation, fmt: str, max_width: int | None = None) -> None:
    """Print every row as a box table, CSV or a JSON list of objects (`fmt`: table, csv or json). A table is at
    most `max_width` characters wide (default: the terminal's, or unlimited when stdout is not a terminal)."""
    if fmt == "table":
        relation.show(max_width=max_width or _default_width(), max_rows=10_000)
    else:
        _write_text(relation, fmt, sys.stdout)


def write_relation(relation: duckdb.DuckDBPyRelation, fmt: str, path: Path) -> None:
    """Write every row to `path` as CSV, JSON or Parquet (zstd, nested values kept as they are)."""
    aside = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        if fmt == "parquet":
            relation.write_parquet(str(aside), compression="zstd")
        else:
            with aside.open("w", newline="") as out:
                _write_text(relation, fmt, out)
        os.replace(aside, path)
    except OSError as error:
        raise LakehouseError(f"cannot write {path}: {error.strerror or error}") from None
    finally:
        aside.unlink(missing_ok=True)


def _default_width() -> int:
    return shutil.get_terminal_size().columns if sys.stdout.isatty() else sys.maxsize


def _write_text(relation: duckdb.DuckDBPyRelation, fmt: str, out: TextIO) -> None:
    if fmt == "json":
        rows = [dict(zip(relation.columns, row)) for row in relation.fetchall()]
        out.write(json.dumps(rows, default=str, indent=1) + "\n")
        return
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(relation.columns)
    as_text = relation.project(", ".join(_text(i, t) for i, t in enumerate(relation.types, start=1)))
    writer.writerows(as_text.iter_rows(batch_size=_BATCH))


def _text(position: int, type_: DuckDBPyType) -> str:
    """The column at `position` as text: JSON for a nested value, DuckDB's own text for any other (by position:
    result columns may share a name)."""
    return f"to_json(#{position})::varchar" if type_.id in _NESTED else f"#{position}::varchar"

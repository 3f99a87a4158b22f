"""Read an Excel workbook (.xlsx) as text records, one per row of every sheet, as the CSV reader does per line.

Workbooks are read by calamine (through fastexcel, the engine behind polars' `read_excel`), every cell as the text
it holds: a number as written ("58.34"), a date cell as "YYYY-MM-DD HH:MM:SS", an error cell as Excel shows it
("#DIV/0!"), so that silver validates a workbook row exactly as a CSV line. Each record keeps its sheet and row
(row 1 is the sheet's header); a sheet's trailing empty rows (an artefact of Excel's used range) are no records,
a blank row between data rows is one, with a structural error. A file that is not a readable workbook becomes one
record saying so, so that it is quarantined, accounted for, and never stops a run.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from pathlib import Path

import fastexcel
import polars as pl

from bronze.reader import FILE_INDEX, FILE_UNREADABLE, FileFacts, csv_field, header_positions, unreadable
from bronze.records import ERROR, FIELD_COUNT, LINE, RAW
from contracts.schema import SOURCE_SHEET
from core import faults
from core.retry import with_retries

SHEET = SOURCE_SHEET
SUFFIXES = (".xlsx",)
# calamine's names of Excel's cell errors, and how Excel shows them
EXCEL_ERRORS = {
    "Div0": "#DIV/0!",
    "NA": "#N/A",
    "Name": "#NAME?",
    "Null": "#NULL!",
    "Num": "#NUM!",
    "Ref": "#REF!",
    "Value": "#VALUE!",
    "GettingData": "#GETTING_DATA",
}


def is_workbook(path: Path | str) -> bool:
    return str(path).lower().endswith(SUFFIXES)


def read_workbook(path: Path, columns: Sequence[str]) -> tuple[pl.DataFrame, FileFacts]:
    """Records of every sheet: sheet, row, the row as a CSV line, a structural error or null, and one text column
    per contract column (matched by the sheet's header, in any order)."""
    try:
        blob = with_retries(lambda: _read_whole(path), f"reading {path}")
    except PermissionError as error:
        facts = FileFacts("", path.stat().st_size, 1, refused=unreadable(error))
        return _with_columns(
            _record(pl.DataFrame({LINE: [1], RAW: [facts.refused]}), None, FILE_UNREADABLE), columns
        ), facts
    facts = FileFacts(hashlib.sha256(blob).hexdigest(), len(blob), header_ok=True)
    try:
        reader = fastexcel.read_excel(blob)
        sheets = [_sheet_records(reader, name, columns, facts) for name in reader.sheet_names]
    except fastexcel.FastExcelError as error:
        reason = str(error).splitlines()[0]
        facts.refused = f"unreadable workbook: {reason}"
        sheets = [_record(pl.DataFrame({LINE: [1], RAW: [facts.refused]}), None, FILE_UNREADABLE)]
        facts.header_ok = False
    records = pl.concat([_with_columns(s, columns) for s in sheets]) if sheets else _with_columns(_empty(), columns)
    facts.rows = len(records)
    return records, facts


def read_workbooks(paths: Sequence[Path], columns: Sequence[str]) -> tuple[pl.DataFrame, list[FileFacts]]:
    """Several workbooks' records as one frame, with FILE_INDEX (the position of each record's file in `paths`),
    as `read_small_files` gives those of CSV files."""
    read = [read_workbook(path, columns) for path in paths]
    records = [frame.with_columns(pl.lit(i, pl.UInt32).alias(FILE_INDEX)) for i, (frame, _) in enumerate(read)]
    return pl.concat(records), [facts for _, facts in read]


def _read_whole(path: Path) -> bytes:
    faults.failed_read(path)
    return path.read_bytes()


def _sheet_records(reader: fastexcel.ExcelReader, name: str, columns: Sequence[str], facts: FileFacts) -> pl.DataFrame:
    batch, errors = reader.load_sheet(name, header_row=None, dtypes="string", skip_rows=0).to_arrow_with_errors()
    cells = pl.from_arrow(batch)
    cells = cells.rename({c: f"c{i}" for i, c in enumerate(cells.columns)})
    cells = _with_errors_shown(cells, errors.errors if errors else [])
    filled = cells.select(pl.any_horizontal(pl.all().is_not_null())).to_series() if cells.width else pl.Series([])
    if not filled.slice(1).any():  # the header alone, or nothing
        return _empty()
    last = len(filled) - 1 - filled.reverse().arg_max()  # the last row with anything in it
    header = list(cells.row(0))
    while header and header[-1] is None:  # the sheet may be wider than its header
        header.pop()
    names = ["" if n is None else n for n in header]
    positions = header_positions(names, columns)
    facts.header = facts.header or names
    facts.header_ok &= positions is not None
    beyond = [pl.col(c).is_not_null() for c in cells.columns[len(names) :]]
    error = (
        pl.when(pl.lit(positions is None))
        .then(pl.lit("file:header"))
        .when(~pl.any_horizontal(pl.col(c).is_not_null() for c in cells.columns))
        .then(pl.lit("row:blank"))
        .when(pl.any_horizontal(pl.lit(False), *beyond))
        .then(pl.lit(FIELD_COUNT))
    )
    nothing = [pl.lit(None, pl.String)] * len(columns)
    values = [pl.col(f"c{p}") for p in positions] if positions is not None else nothing
    return (
        cells.slice(1, last)
        .with_row_index(LINE, offset=2)
        .select(
            pl.lit(name).alias(SHEET),
            pl.col(LINE).cast(pl.Int64),
            pl.concat_str([csv_field(pl.col(c)) for c in cells.columns], separator=",").alias(RAW),
            error.alias(ERROR),
            *[value.alias(c) for value, c in zip(values, columns)],
        )
        .with_columns(
            pl.when(pl.col(ERROR).is_null() | (pl.col(ERROR) == FIELD_COUNT)).then(pl.col(c)).alias(c) for c in columns
        )
    )


def _with_errors_shown(cells: pl.DataFrame, errors: list) -> pl.DataFrame:
    """Error cells read as null; put back the text Excel shows for them, so that they fail their rules."""
    if not errors:
        return cells
    shown = {}
    for error in errors:
        found = re.search(r"Error\((\w+)\)", error.detail)
        text = EXCEL_ERRORS.get(found.group(1), f"#{found.group(1).upper()}!") if found else "#ERROR!"
        shown.setdefault(error.position[1], {})[error.position[0]] = text
    return cells.with_columns(
        pl.Series(f"c{column}", cells[f"c{column}"].scatter(list(texts), list(texts.values())))
        for column, texts in shown.items()
    )


def _record(lines: pl.DataFrame, sheet: str | None, error: str) -> pl.DataFrame:
    return lines.select(
        pl.lit(sheet, pl.String).alias(SHEET), pl.col(LINE).cast(pl.Int64), RAW, pl.lit(error).alias(ERROR)
    )


def _empty() -> pl.DataFrame:
    return pl.DataFrame(schema={SHEET: pl.String, LINE: pl.Int64, RAW: pl.String, ERROR: pl.String})


def _with_columns(records: pl.DataFrame, columns: Sequence[str]) -> pl.DataFrame:
    missing = [pl.lit(None, pl.String).alias(c) for c in columns if c not in records.columns]
    return records.with_columns(missing).select(SHEET, LINE, RAW, ERROR, *columns)

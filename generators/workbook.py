"""Excel workbooks (.xlsx) from frames of text, built with polars string expressions: no Python loop per row.

A drop of up to ~300,000 rows is rendered the way CSV lines are, one `concat_str` per row, so writing stays a
matter of seconds. The same input gives byte-identical bytes: fixed part order, zip timestamps and compression.
"""

from __future__ import annotations

import io
import re
import zipfile
from typing import IO
from xml.sax.saxutils import quoteattr

import polars as pl

EXTRA = "_extra"
KINDS = ("string", "number", "datetime")
# ASCII digits only: a regex `\d` also matches other scripts' digits, which are no number to Excel
NUMBER = r"^-?[0-9]+(\.[0-9]+)?$"
DATETIME = r"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$"
# Seconds from Excel's day zero (1899-12-30, which absorbs its 1900 leap-year bug from March 1900 on) to 1970.
EXCEL_EPOCH_OFFSET = 25_569 * 86_400
# Measured on 300,000 rows x 12 columns (181 MB of sheet XML): level 1 deflates it in ~0.6 s to 26 MB, level 6 in
# ~2 s to 22 MB; writing time matters more to the generator than a fifth of the size.
COMPRESS_LEVEL = 1
ROWS_PER_SLICE = 50_000
SHEET, ROW = "_sheet_number", "_row_number"  # where each row goes while the sheets are rendered together
INVALID_SHEET_CHARS = re.compile(r"[:\\/?*\[\]\x00-\x1f]")
# Control characters XML 1.0 forbids even as references; written as ST_Xstring's `_xHHHH_` escape (ECMA-376
# 22.9.2.19), which Excel and calamine decode. The noncharacters U+FFFE and U+FFFF have no escape calamine decodes.
CONTROL_CHARS = [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20)]
CONTROL = "[\x00-\x08\x0b\x0c\x0e-\x1f]"
NONCHARACTERS = "[\ufffe\uffff]"

CONTENT_TYPES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">\
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>\
<Default Extension="xml" ContentType="application/xml"/>\
<Override PartName="/xl/workbook.xml" \
ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>\
<Override PartName="/xl/styles.xml" \
ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>\
{sheets}</Types>"""
SHEET_TYPE = (
    '<Override PartName="/xl/worksheets/sheet{n}.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
)
ROOT_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">\
<Relationship Id="rId1" \
Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>\
</Relationships>"""
WORKBOOK = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" \
xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>{sheets}</sheets></workbook>"""
WORKBOOK_SHEET = '<sheet name={name} sheetId="{n}" r:id="rId{n}"/>'
WORKBOOK_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{sheets}\
<Relationship Id="rId{styles}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" \
Target="styles.xml"/></Relationships>"""
SHEET_REL = (
    '<Relationship Id="rId{n}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
    'Target="worksheets/sheet{n}.xml"/>'
)
# Style 1 is the only one cells name: custom number format 164 (ids below 164 are built in) for date-times.
STYLES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">\
<numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy-mm-dd hh:mm:ss"/></numFmts>\
<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>\
<fills count="2"><fill><patternFill patternType="none"/></fill>\
<fill><patternFill patternType="gray125"/></fill></fills>\
<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>\
<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>\
<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>\
<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>\
<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>\
</styleSheet>"""
SHEET_HEAD = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"""
SHEET_TAIL = "</sheetData></worksheet>"


def workbook_bytes(sheets: dict[str, pl.DataFrame], kinds: dict[str, str]) -> bytes:
    """An .xlsx workbook: one sheet per frame, the column names in row 1, the frame's rows from row 2.

    Frames hold text (nulls are empty cells); `kinds` says which columns' texts become numbers or date-times
    when they look like one; anything else is kept as the string it is. An optional `_extra` column is written,
    where not null, as one more string cell after the last column (a row with too many fields).
    """
    _check_sheet_names(list(sheets))
    unknown = {kind for kind in kinds.values() if kind not in KINDS}
    if unknown:
        raise ValueError(f"unknown column kinds {sorted(unknown)}; expected one of {KINDS}")
    numbers = range(1, len(sheets) + 1)
    parts = {
        "[Content_Types].xml": CONTENT_TYPES.format(sheets="".join(SHEET_TYPE.format(n=n) for n in numbers)),
        "_rels/.rels": ROOT_RELS,
        "xl/workbook.xml": WORKBOOK.format(
            sheets="".join(WORKBOOK_SHEET.format(name=quoteattr(name), n=n) for n, name in zip(numbers, sheets))
        ),
        "xl/_rels/workbook.xml.rels": WORKBOOK_RELS.format(
            sheets="".join(SHEET_REL.format(n=n) for n in numbers), styles=len(sheets) + 1
        ),
        "xl/styles.xml": STYLES,
    }
    buffer = io.BytesIO()
    # entries opened by name get ZipInfo's fixed 1980-01-01 timestamp and the archive's compression level
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=COMPRESS_LEVEL) as archive:
        for path, text in parts.items():
            with archive.open(path, "w") as part:
                part.write(text.encode())
        _write_sheets(archive, sheets, kinds)
    return buffer.getvalue()


def _check_sheet_names(names: list[str]) -> None:
    """Excel refuses to open a workbook with a sheet name a user could not type, or two differing only in case."""
    seen: set[str] = set()
    for name in names:
        if not name or len(name) > 31 or INVALID_SHEET_CHARS.search(name) or name[0] == "'" or name[-1] == "'":
            raise ValueError(
                f"invalid Excel sheet name {name!r}: 1 to 31 characters, none of : \\ / ? * [ ] or control "
                "characters, no leading or trailing apostrophe"
            )
        if name.casefold() in seen:
            raise ValueError(f"Excel sheet name {name!r} repeats another one but for case")
        seen.add(name.casefold())


def _column_letters(index: int) -> str:
    """The A1-style letters of a 0-based column index: 0 -> A, 25 -> Z, 26 -> AA, 701 -> ZZ, 702 -> AAA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _write_sheets(archive: zipfile.ZipFile, sheets: dict[str, pl.DataFrame], kinds: dict[str, str]) -> None:
    """Every worksheet: the header in row 1, then the frame's rows from row 2.

    The sheets' rows are rendered together, a slice at a time: many small sheets cost one render, not one each,
    and memory stays a few times one slice's XML rather than a whole sheet's."""
    frames = list(sheets.values())
    columns = [name for name in frames[0].columns if name != EXTRA] if frames else []
    header = pl.DataFrame({name: [name] for name in columns}, schema=dict.fromkeys(columns, pl.String))
    parts = _Parts(archive, _rows(header.with_columns(pl.lit(1).alias(ROW)), {}).str.join("").item().encode())
    numbered = [f.with_columns(pl.lit(n, pl.Int64).alias(SHEET), pl.int_range(2, f.height + 2).alias(ROW))
                for n, f in enumerate(frames)]  # fmt: skip
    rows = pl.concat(numbered, how="diagonal")
    for start in range(0, rows.height, ROWS_PER_SLICE):
        chunk = rows.slice(start, ROWS_PER_SLICE)
        rendered = chunk.select(SHEET, _rows(chunk.drop(SHEET), kinds).alias("xml"))
        for (sheet,), part in rendered.partition_by(SHEET, as_dict=True, maintain_order=True).items():
            parts.upto(sheet).write(part["xml"].str.join("").cast(pl.Binary).item())
    parts.close(len(frames))


class _Parts:
    """The worksheet entries, opened one after the other: a zip archive writes one entry at a time."""

    def __init__(self, archive: zipfile.ZipFile, header: bytes):
        self.archive, self.header = archive, header
        self.part: IO[bytes] | None = None
        self.number = -1

    def upto(self, number: int) -> IO[bytes]:
        """The entry of sheet `number` (0-based), opening it and any empty sheets before it."""
        while self.number < number:
            self._finish()
            self.number += 1
            self.part = self.archive.open(f"xl/worksheets/sheet{self.number + 1}.xml", "w")
            self.part.write(SHEET_HEAD.encode() + self.header)
        return self.part

    def close(self, count: int) -> None:
        self.upto(count - 1)
        self._finish()

    def _finish(self) -> None:
        if self.part is not None:
            self.part.write(SHEET_TAIL.encode())
            self.part.close()
            self.part = None


def _rows(frame: pl.DataFrame, kinds: dict[str, str]) -> pl.Series:
    """One `<row>` per frame row (numbered by its ROW column), each rendered by a single `concat_str`, like a CSV
    line."""
    columns = [name for name in frame.columns if name not in (EXTRA, ROW)]
    row = pl.col(ROW).cast(pl.String)
    # a column's 29 control-character passes cost more than the rest of its cell, so they run only where needed
    controls = {name for name in frame.columns if name != ROW and frame[name].str.contains(CONTROL).any()}
    cells = [
        _cell(pl.col(name), row, _column_letters(i), kinds.get(name, "string"), name in controls)
        for i, name in enumerate(columns)
    ]
    if EXTRA in frame.columns:
        cells.append(_cell(pl.col(EXTRA), row, _column_letters(len(columns)), "string", EXTRA in controls))
    line = pl.concat_str([pl.lit('<row r="'), row, pl.lit('">'), *cells, pl.lit("</row>")], ignore_nulls=True)
    return frame.select(line).to_series()


def _cell(text: pl.Expr, row: pl.Expr, letter: str, kind: str, controls: bool) -> pl.Expr:
    """A `<c>` element, or null (no cell) for a null text; any text that is not a clean value stays a string.

    Strings are inline (`t="inlineStr"`), not in a shared-strings part: each row renders on its own, with no pass
    over the whole workbook to number distinct strings, and deflate already shares the repeats a table would.
    """
    ref = pl.concat_str([pl.lit(f'<c r="{letter}'), row])
    space = pl.when(text.str.contains(r"^\s|\s$")).then(pl.lit(' xml:space="preserve"')).otherwise(pl.lit(""))
    string = pl.concat_str(
        [ref, pl.lit('" t="inlineStr"><is><t'), space, pl.lit(">"), _escape(text, controls), pl.lit("</t></is></c>")]
    )
    if kind == "number":
        value = pl.concat_str([ref, pl.lit('"><v>'), text, pl.lit("</v></c>")])
        return pl.when(text.str.contains(NUMBER)).then(value).otherwise(string)
    if kind == "datetime":
        serial = _serial(text)
        value = pl.concat_str([ref, pl.lit('" s="1"><v>'), serial.cast(pl.String), pl.lit("</v></c>")])
        return pl.when(text.str.contains(DATETIME) & serial.is_not_null()).then(value).otherwise(string)
    return string


def _serial(text: pl.Expr) -> pl.Expr:
    """Excel's date serial of a date-time text, exact to the second: whole seconds over 86,400, one division.

    Its shortest float repr reads back to the same float, which calamine and openpyxl round to the millisecond,
    hence the same second. Before 1900-03-01 Excel counts the 29 February 1900 that never was, so serials there are
    one day less; before 1900-01-01 there is no serial (null: the text stays a string).
    """
    seconds = text.str.strptime(pl.Datetime("us"), "%Y-%m-%d %H:%M:%S", strict=False).dt.epoch("s") + EXCEL_EPOCH_OFFSET
    days = seconds / 86_400
    serial = pl.when(days >= 61).then(days).otherwise(days - 1)
    return pl.when(serial >= 1).then(serial)


def _escape(text: pl.Expr, controls: bool) -> pl.Expr:
    """Text as XML character data that calamine (and Excel) read back unchanged, but for U+FFFE and U+FFFF.

    A literal CR would come back as LF (XML line-end normalisation), so it is a character reference. Control
    characters become `_xHHHH_`; so that a text with its own `_xHHHH` is not decoded, its `_` are escaped too
    (`_x005F_`), only in such texts. U+FFFE and U+FFFF, forbidden in XML, become U+FFFD.
    """
    escaped = (
        text.str.replace_all("&", "&amp;", literal=True)
        .str.replace_all("<", "&lt;", literal=True)
        .str.replace_all(">", "&gt;", literal=True)
        .str.replace_all("\r", "&#13;", literal=True)
        .str.replace_all(NONCHARACTERS, "\ufffd")
    )
    has_escape = escaped.str.contains(r"_[xX][0-9A-Fa-f]{4}")
    escaped = pl.when(has_escape).then(escaped.str.replace_all("_", "_x005F_", literal=True)).otherwise(escaped)
    for code in CONTROL_CHARS if controls else ():
        escaped = escaped.str.replace_all(chr(code), f"_x{code:04X}_", literal=True)
    return escaped

"""The workbook writer: what the lake's fastexcel reader and openpyxl see is exactly the text that was written."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path

import fastexcel
import openpyxl
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generators.workbook import workbook_bytes

KINDS = {"executed_at": "datetime", "shares": "number", "price": "number"}
TRADES = pl.DataFrame(
    {
        "trade_id": ["a1b2c3d4", " padded ", "x&y<z>\"'", None, "_x0041_ \x01\x1f\t\n\r", "", "naïve – 株式 😀"],
        "side": ["buy", "sell", None, "naïve – 株式 😀", "_x0041\x02", "Apple Inc.", "]]>&amp;"],
        "executed_at": [
            "2023-01-05 10:00:01", "31/12/2023", "2023-02-30 10:00:00", None,
            "1900-01-01 00:00:00", "1899-12-31 23:59:59", "9999-12-31 23:59:59",
        ],
        "shares": ["11", "n/a", None, "-3", "0", "١٢", "1e5"],
        "price": ["58.34", "-0.5", "1.5", None, "12.34.5", "", "99.99"],
        "_extra": [None, "surplus", None, None, "a&b", None, None],
    }
)  # fmt: skip
SHEETS = {"trades": TRADES, "empty": TRADES.clear(), "Ünïcode & 'more' <x>": TRADES.drop("_extra").head(2)}


def read_back(source: Path | bytes) -> dict[str, list[tuple]]:
    """Each sheet's rows as the lake reads them: every cell as text, row i is Excel row i + 1."""
    reader = fastexcel.read_excel(source)
    sheets = {}
    for name in reader.sheet_names:
        batch, errors = reader.load_sheet(name, header_row=None, dtypes="string", skip_rows=0).to_arrow_with_errors()
        assert errors is None
        sheets[name] = pl.from_arrow(batch).rows()
    return sheets


def written(frame: pl.DataFrame) -> list[tuple]:
    """The rows a reader should see: the header, then each row with its `_extra` text in the column after the last."""
    if "_extra" in frame.columns and frame["_extra"].null_count() == frame.height:
        frame = frame.drop("_extra")  # no cell past the last column, so the reader sees no such column
    header = tuple(name for name in frame.columns if name != "_extra")
    return [header + (None,) * (len(frame.columns) - len(header)), *frame.rows()]


def test_every_cell_reads_back_as_the_text_written(tmp_path: Path) -> None:
    path = tmp_path / "drop.xlsx"
    path.write_bytes(workbook_bytes(SHEETS, KINDS))
    assert read_back(path) == {name: written(frame) for name, frame in SHEETS.items()}

    book = openpyxl.load_workbook(path, read_only=True)
    assert book.sheetnames == list(SHEETS)
    assert [len(list(book[name].rows)) for name in SHEETS] == [frame.height + 1 for frame in SHEETS.values()]
    dates = [row[2] for row in book["trades"].iter_rows(min_row=2, values_only=True)]
    assert dates == [
        dt.datetime(2023, 1, 5, 10, 0, 1), "31/12/2023", "2023-02-30 10:00:00", None,
        dt.datetime(1900, 1, 1), "1899-12-31 23:59:59", dt.datetime(9999, 12, 31, 23, 59, 59),
    ]  # fmt: skip


def test_numbers_are_numeric_cells_with_the_exact_text_and_dates_have_the_date_style() -> None:
    archive = zipfile.ZipFile(io.BytesIO(workbook_bytes({"trades": TRADES}, KINDS)))
    sheet = archive.read("xl/worksheets/sheet1.xml").decode()
    assert '<c r="E2"><v>58.34</v></c>' in sheet
    assert '<c r="D3" t="inlineStr"><is><t>n/a</t></is></c>' in sheet
    assert '<c r="D7" t="inlineStr"><is><t>١٢</t></is></c>' in sheet  # digits, but not Excel's: calamine hides this
    assert '<c r="C2" s="1"><v>' in sheet and '<c r="C3" t="inlineStr">' in sheet
    styles = archive.read("xl/styles.xml").decode()
    assert '<numFmt numFmtId="164" formatCode="yyyy-mm-dd hh:mm:ss"/>' in styles
    assert '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>' in styles


def test_every_second_of_a_leap_day_reads_back_to_the_second() -> None:
    day = pl.datetime_range(dt.datetime(2024, 2, 29), dt.datetime(2024, 2, 29, 23, 59, 59), "1s", eager=True)
    frame = pl.DataFrame({"executed_at": day.dt.strftime("%Y-%m-%d %H:%M:%S")})
    rows = read_back(workbook_bytes({"day": frame}, KINDS))["day"]
    assert len(rows) == 86_401
    assert rows == written(frame)


texts = st.none() | st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
seconds = st.datetimes(dt.datetime(1900, 3, 1), dt.datetime(2099, 12, 31, 23, 59, 59)).map(
    lambda moment: f"{moment.replace(microsecond=0):%Y-%m-%d %H:%M:%S}"
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(texts, texts, seconds), min_size=1, max_size=25))
def test_any_text_and_any_whole_second_round_trip(rows: list[tuple]) -> None:
    frame = pl.DataFrame(rows, schema=dict.fromkeys(["trade_id", "side", "executed_at"], pl.String), orient="row")
    got = read_back(workbook_bytes({"t": frame}, KINDS))["t"]
    # U+FFFE and U+FFFF cannot be written in XML: the writer documents that they become U+FFFD
    expected = frame.with_columns(pl.col("trade_id", "side").str.replace_all("[\ufffe\uffff]", "\ufffd"))
    assert got == written(expected)


def test_columns_past_z_get_their_own_letters() -> None:
    names = [f"c{i}" for i in range(703)]  # A .. Z, AA .. ZZ, AAA
    frame = pl.DataFrame([pl.Series(name, [str(i)]) for i, name in enumerate(names)])
    archive = zipfile.ZipFile(io.BytesIO(workbook_bytes({"wide": frame}, {})))
    sheet = archive.read("xl/worksheets/sheet1.xml").decode()
    assert all(f'<c r="{ref}2" ' in sheet for ref in ("A", "Z", "AA", "AZ", "BA", "ZZ", "AAA"))
    assert read_back(workbook_bytes({"wide": frame}, {}))["wide"] == written(frame)


def test_same_input_gives_the_same_bytes() -> None:
    first = workbook_bytes(SHEETS, KINDS)
    assert workbook_bytes(SHEETS, KINDS) == first
    entries = zipfile.ZipFile(io.BytesIO(first)).infolist()
    assert {entry.date_time for entry in entries} == {(1980, 1, 1, 0, 0, 0)}
    assert {entry.compress_type for entry in entries} == {zipfile.ZIP_DEFLATED}
    assert [entry.filename for entry in entries][:2] == ["[Content_Types].xml", "_rels/.rels"]
    assert workbook_bytes({"trades": TRADES.reverse()}, KINDS) != workbook_bytes({"trades": TRADES}, KINDS)


@pytest.mark.parametrize("name", ["", "a/b", "a\\b", "what?", "x*", "[x]", "a:b", "'quoted'", "tab\there", "x" * 32])
def test_invalid_sheet_names_are_refused_by_name(name: str) -> None:
    with pytest.raises(ValueError, match="sheet name") as refused:
        workbook_bytes({"fine": TRADES, name: TRADES}, KINDS)
    assert repr(name) in str(refused.value)


def test_sheet_names_differing_only_in_case_are_refused() -> None:
    with pytest.raises(ValueError, match="'Trades'"):
        workbook_bytes({"trades": TRADES, "Trades": TRADES}, KINDS)

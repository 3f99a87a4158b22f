"""The bronze reader: one record per physical line, whatever the file looks like."""

from __future__ import annotations

import csv
import io
import re
import tempfile
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import bronze.reader
import bronze.records
from bronze.files import BATCH_BYTES, BATCH_FILES, SMALL_FILE_BYTES, BronzeFile, batches_of
from bronze.reader import FILE_INDEX, BronzeReader, line_ends, read_small_files
from bronze.records import ERROR, FIELD_COUNT, LINE, RAW, in_line_order, strip_terminators
from tests.conftest import SHARED

COLUMNS = ["a", "b", "c"]


def read(path: Path, columns: list[str] = COLUMNS, chunk_bytes: int = 1 << 20) -> tuple[pl.DataFrame, BronzeReader]:
    reader = BronzeReader(path, columns, chunk_bytes=chunk_bytes)
    frames = list(reader)
    empty = {LINE: pl.Int64, RAW: pl.String, ERROR: pl.String} | {c: pl.String for c in columns}
    return (pl.concat(frames) if frames else pl.DataFrame(schema=empty)), reader


def test_plain_file_with_bom_and_crlf(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(b"\xef\xbb\xbfa,b,c\r\n1,2,3\r\n4,5,6\r\n")
    rows, reader = read(path)
    assert rows.select("a", "b", "c").rows() == [("1", "2", "3"), ("4", "5", "6")]
    assert rows[LINE].to_list() == [2, 3]
    assert rows[ERROR].null_count() == 2
    assert reader.facts.rows == 2 and reader.facts.bytes == path.stat().st_size


def test_quoted_fields_keep_commas_and_quotes(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text('a,b,c\n"x, y","say ""hi""",3\n,"",\n')
    rows, _ = read(path)
    assert rows.select("a", "b", "c").rows() == [("x, y", 'say "hi"', "3"), (None, "", None)]
    assert rows[ERROR].null_count() == 2


def test_malformed_lines_are_records_with_their_error(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(b'a,b,c\n1,2\n1,2,3,4\n\n1,"2,3\n1,2"x",3\n\xff\xfe,1,2\nlast,1,2')
    rows, reader = read(path)
    errors = dict(zip(rows[LINE].to_list(), rows[ERROR].to_list()))
    assert errors == {
        2: "row:field_count",
        3: "row:field_count",
        4: "row:blank",
        5: "row:quoting",
        6: "row:quoting",
        7: "row:encoding",
        8: None,
    }
    assert reader.facts.rows == 7
    misshapen = rows.filter(pl.col(ERROR) == "row:field_count")
    assert misshapen.select(COLUMNS).rows() == [("1", "2", None), ("1", "2", "3")]  # its fields, by position
    unsplit = rows.filter(pl.col(ERROR).is_not_null() & (pl.col(ERROR) != "row:field_count"))
    assert unsplit.select(pl.all_horizontal(pl.col(COLUMNS).is_null())).to_series().all()
    assert rows.select(strip_terminators(pl.col(RAW)))[RAW].to_list()[:2] == ["1,2", "1,2,3,4"]


def test_old_mac_line_ends_are_lines(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(b"a,b,c\r1,2,3\r4,5,6\r\r7,8")
    rows, reader = read(path, chunk_bytes=4)
    assert reader.facts.header_ok and reader.facts.rows == 4
    assert rows.select("a", "b", "c").rows() == [("1", "2", "3"), ("4", "5", "6"), (None, None, None), ("7", "8", None)]
    assert rows[ERROR].to_list() == [None, None, "row:blank", "row:field_count"]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32", "utf-32-be"])
def test_utf16_and_utf32_files_are_refused_whole_with_a_reason(tmp_path: Path, encoding: str) -> None:
    """What Excel's "Unicode text" saves: one record, file:encoding, saying how to save it instead."""
    path = tmp_path / "x.csv"
    text = "a,b,c\r\n1,2,3\r\n"
    path.write_bytes(("\ufeff" + text).encode(encoding.removesuffix("-be") + ("-be" if "be" in encoding else "-le")))
    (alone, reader), (together, [facts]) = read(path), read_small_files([path], COLUMNS)
    assert reader.facts == facts
    for rows in (alone, together):
        assert rows[ERROR].to_list() == ["file:encoding"] and rows[LINE].to_list() == [1]
        assert "UTF-" in rows[RAW][0] and "CSV UTF-8" in rows[RAW][0]
        assert facts.rows == 1 and facts.bytes == path.stat().st_size and len(facts.sha256) == 64


def test_columns_are_matched_by_header_name_in_any_order(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("C, B ,a\n3,2,1\n")
    rows, reader = read(path)
    assert reader.facts.header_ok
    assert rows.select(COLUMNS).row(0) == ("1", "2", "3")


def test_wrong_header_marks_every_row(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("a,b,z\n1,2,3\n4,5,6\n")
    rows, reader = read(path)
    assert not reader.facts.header_ok
    assert rows[ERROR].to_list() == ["file:header", "file:header"]


def test_empty_and_header_only_files_have_no_rows(tmp_path: Path) -> None:
    empty, header_only = tmp_path / "e.csv", tmp_path / "h.csv"
    empty.write_bytes(b"")
    header_only.write_text("a,b,c\n")
    for path in (empty, header_only):
        rows, reader = read(path)
        assert rows.is_empty() and reader.facts.rows == 0


def test_real_files_written_elsewhere(tmp_path: Path) -> None:
    """The customer-rating agency files in shared/reference: CRLF, written by another system."""
    columns = ["customer_number", "customer_rating", "customer_rating_limit", "customer_status"]
    for path in sorted((SHARED / "reference" / "customer-ratings").glob("Customer Rating Agency *.csv")):
        rows, reader = read(path, columns)
        lines = path.read_bytes().decode().splitlines()
        assert reader.facts.rows == len(lines) - 1
        expected = [tuple(r) for r in csv.reader(lines[1:])]
        assert rows.select(columns).rows() == expected
        assert not rows[RAW].str.contains("\n").any() or rows[RAW].str.ends_with("\r\n").all()


line_text = st.text(alphabet=st.sampled_from(list('ab,"x ')), max_size=12)


line_end = st.sampled_from(["\n", "\r\n", "\r"])


@settings(max_examples=200, deadline=None)
@given(
    lines=st.lists(st.tuples(line_text, line_end), max_size=30),
    header_end=line_end,
    chunk=st.integers(min_value=1, max_value=64),
)
def test_every_line_becomes_exactly_one_record(lines: list[tuple[str, str]], header_end: str, chunk: int) -> None:
    """Whatever the lines hold, whatever ends them (LF, CRLF or a lone CR, as old Mac files do) and however the
    file is chunked: one record per line, numbered in order, and a record without error holds exactly what
    Python's csv module reads from that line."""
    text = "a,b,c" + header_end + "".join(line + end for line, end in lines)
    expected = re.split(r"\r\n|\r|\n", text)[1:-1]  # a CR then an empty line's LF is one CRLF, as anywhere
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "x.csv"
        path.write_bytes(text.encode())
        rows, reader = read(path, chunk_bytes=chunk)
    assert reader.facts.header_ok
    assert reader.facts.rows == len(expected)
    assert rows[LINE].to_list() == list(range(2, len(expected) + 2))
    for line, record in zip(expected, rows.iter_rows(named=True)):
        if record[ERROR] is None:
            parsed = next(csv.reader(io.StringIO(line), strict=True))
            assert [record[c] or "" for c in COLUMNS] == parsed


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=40).map(lambda b: bytes(b"a\r\n"[x % 3] for x in b)), window=st.integers(1, 8))
def test_line_ends_are_found_window_by_window(data: bytes, window: int) -> None:
    """Scanned a few bytes at a time, the line ends are those of the whole: after each LF, and after each CR not
    followed by an LF, even where the LF begins the next window."""
    expected = [m.end() for m in re.finditer(rb"\r\n|\r|\n", data)]
    original, bronze.reader.LINE_SCAN = bronze.reader.LINE_SCAN, window
    try:
        found = line_ends(data)
    finally:
        bronze.reader.LINE_SCAN = original
    assert found.tolist() == expected


unquoted_line = st.text(alphabet=st.sampled_from(list("ab,x ")), max_size=12)


@settings(max_examples=200, deadline=None)
@given(
    lines=st.lists(st.tuples(unquoted_line, st.sampled_from(["\n", "\r\n"])), max_size=30),
    header_end=st.sampled_from(["\n", "\r\n"]),
    chunk=st.sampled_from([5, 40, 1 << 20]),
)
def test_unquoted_lines_give_their_fields_by_position(
    lines: list[tuple[str, str]], header_end: str, chunk: int
) -> None:
    """Lines without quotes, whether they hold the header's number of fields or not (parsed in place by polars,
    after the header it skips, the broken ones then split strictly): each record holds its line's fields, cut at
    its commas, by position, an empty one null; a blank line none."""
    text = "a,b,c" + header_end + "".join(line + end for line, end in lines)
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "x.csv"
        path.write_bytes(text.encode())
        rows, reader = read(path, chunk_bytes=chunk)
    assert reader.facts.rows == len(lines) == len(rows)
    for (line, end), record in zip(lines, rows.iter_rows(named=True)):
        assert record[RAW] in (line, line + end)  # a broken line's record keeps no terminator
        if not line:
            assert record[ERROR] == "row:blank"
            continue
        values = line.split(",")
        assert record[ERROR] == (None if len(values) == len(COLUMNS) else FIELD_COUNT)
        assert [record[c] for c in COLUMNS] == [v or None for v in [*values, "", "", ""][: len(COLUMNS)]]


@settings(max_examples=200, deadline=None)
@given(clean=st.lists(st.booleans(), max_size=60), sliced_runs=st.sampled_from([0, 1, 3, 1_024]))
def test_clean_and_broken_records_go_back_in_line_order(clean: list[bool], sliced_runs: int) -> None:
    """Whatever lines are broken, in however many runs: each record is back at its line, by slices of the clean
    records between runs or (beyond `SLICED_RUNS` runs) by a gather."""
    lines = pl.DataFrame({LINE: range(len(clean)), "text": [f"line {n}" for n in range(len(clean))]})
    mask = pl.Series(clean, dtype=pl.Boolean)
    original, bronze.records.SLICED_RUNS = bronze.records.SLICED_RUNS, sliced_runs
    try:
        merged = in_line_order(lines.filter(mask), lines.filter(~mask), mask.to_numpy())
    finally:
        bronze.records.SLICED_RUNS = original
    assert merged.equals(lines)


file_body = st.lists(st.tuples(line_text, line_end), max_size=8).map(lambda lines: "".join(a + b for a, b in lines))


@settings(max_examples=100, deadline=None)
@given(
    files=st.lists(
        st.tuples(
            st.sampled_from(["a,b,c\n", "c,b,a\r\n", "a,b,c\r", "a,b,z\n", "", "a,b,c"]), file_body, st.booleans()
        ),
        min_size=1,
        max_size=6,
    )
)
def test_small_files_read_together_give_each_file_its_own_records(files: list[tuple[str, str, bool]]) -> None:
    """Whatever headers and lines the files hold (a last line without terminator too), reading them together
    gives, file by file, the records and facts of reading each alone (up to the terminator of a last line)."""
    with tempfile.TemporaryDirectory() as directory:
        paths = []
        for number, (header, body, cut_last) in enumerate(files):
            path = Path(directory) / f"{number}.csv"
            path.write_text(header + (body[:-1] if cut_last and header.endswith("\n") else body))
            paths.append(path)
        together, facts = read_small_files(paths, COLUMNS)
        for index, path in enumerate(paths):
            alone, reader = read(path)
            mine = together.filter(pl.col(FILE_INDEX) == index).drop(FILE_INDEX)
            assert facts[index] == reader.facts
            assert mine.with_columns(strip_terminators(pl.col(RAW))).equals(
                alone.with_columns(strip_terminators(pl.col(RAW)))
            )


@settings(max_examples=200, deadline=None)
@given(sizes=st.lists(st.integers(0, 3 * SMALL_FILE_BYTES // 2), max_size=40), threads=st.integers(1, 4))
def test_files_are_read_in_batches_that_share_them_among_the_threads(sizes: list[int], threads: int) -> None:
    """Each file in exactly one batch, in path order; a batch of small files only, none beyond the caps; and files
    alike shared so that no thread reads more of them than its share (a year of 4 MB monthly files was one batch,
    read by one thread while the other waited)."""
    files = [BronzeFile(Path(f"f{i:02}.csv"), f"t/f{i:02}.csv", size, 0) for i, size in enumerate(sizes)]
    batches = batches_of(files, threads)
    assert [f for batch in batches for f in batch] == files
    for batch in batches:
        assert len(batch) == 1 or (
            all(f.bytes <= SMALL_FILE_BYTES for f in batch)
            and len(batch) <= BATCH_FILES
            and sum(f.bytes for f in batch) <= BATCH_BYTES
        )
    alike = [BronzeFile(Path(f"f{i:02}.csv"), f"t/f{i:02}.csv", SMALL_FILE_BYTES // 2, 0) for i in range(len(sizes))]
    assert max(map(len, batches_of(alike, threads)), default=0) <= -(-len(alike) // threads)

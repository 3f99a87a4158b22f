"""Read a bronze CSV file as text records, one per physical line, without losing or altering any line.

CSV readers in polars and DuckDB drop or reshape some malformed lines (extra fields, unclosed quotes) without a
record. So lines are cut here with numpy, then classified with vectorised polars string operations
(bronze/records.py), and only lines proven clean go through polars' fast CSV parser. Every line after the header
becomes exactly one record, so records always add up to the file's own line count. A field left empty is null, a
quoted empty field ("") the empty string; validation takes both as missing.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa

from bronze.records import ERROR, LINE, RAW, records
from core import faults
from core.retry import with_retries

CHUNK_BYTES = 64 * 1024 * 1024
LINE_SCAN = 1024 * 1024  # bytes searched for line ends at a time (see line_ends)
BOM = "\ufeff"

FILE_INDEX = "_file_index"  # which of the files read together a record comes from
FILE_REFUSED = "file:encoding"  # a file refused whole, as one record (see `refusal`)
FILE_NAME = "file:name"  # a file whose name is not UTF-8, refused whole
FILE_UNREADABLE = "file:unreadable"  # a file that cannot be read at all (no permission, or no workbook)
# byte order marks of UTF-32 and UTF-16 (UTF-32 LE's first: it begins with UTF-16 LE's)
_WIDE_BOMS = (
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xfe\xff", "UTF-16"),
)


@dataclass
class FileFacts:
    """What was read from one file: its identity and its number of data lines (header excluded)."""

    sha256: str = ""
    bytes: int = 0
    rows: int = 0
    header: list[str] = field(default_factory=list)
    header_ok: bool = False  # the header names exactly the contract's columns
    refused: str | None = None  # why the file was refused whole (one record says so), if it was


class BronzeReader:
    """Iterate a CSV file as frames of text records; `facts` is complete once iteration ends.

    Each frame has the line number, the raw line (with its line terminator), a structural error or null, and
    one text column per contract column (null when the line could not be split).
    """

    def __init__(self, path: Path, columns: Sequence[str], chunk_bytes: int = CHUNK_BYTES):
        self.path = path
        self.columns = list(columns)
        self.chunk_bytes = chunk_bytes
        self.facts = FileFacts()
        self._positions: list[int] | None = None  # header position of each contract column

    def __iter__(self) -> Iterator[pl.DataFrame]:
        digest = hashlib.sha256()
        carry = b""
        next_line = 1
        while True:
            try:
                block = with_retries(lambda: self._read_block(self.facts.bytes), f"reading {self.path}")
            except PermissionError as error:
                self.facts.refused = unreadable(error)
                self.facts.bytes = self.path.stat().st_size
                yield refused(self.facts.refused, self.columns, FILE_UNREADABLE)
                next_line = 3  # the facts count its one record
                break
            digest.update(block)
            self.facts.bytes += len(block)
            final = not block
            data = carry + block
            if next_line == 1 and (reason := refusal(data)):  # refused whole: hashed, not read
                while block := with_retries(lambda: self._read_block(self.facts.bytes), f"reading {self.path}"):
                    digest.update(block)
                    self.facts.bytes += len(block)
                yield refused(reason, self.columns)
                self.facts.refused = reason
                next_line = 3  # the facts count its one record
                break
            ends = line_ends(data)
            if not final:
                ends = ends[(ends < len(data)) | (data[-1:] != b"\r")]  # a CR ending the block may precede its LF
                cut = int(ends[-1]) if len(ends) else 0
                data, carry = data[:cut], data[cut:]
                if not data:
                    continue
            lines, undecodable = split_lines(data, final, ends)
            header_lines = 0
            if next_line == 1 and len(lines):
                self.facts.header, self._positions = read_header(lines[0], self.columns)
                self.facts.header_ok = self._positions is not None
                if len(lines) == 1:
                    data = b""
                elif data[int(ends[0]) - 1] == ord("\n"):  # the parser skips it (a lone CR ends no line for it)
                    header_lines = 1
                else:
                    data = data[int(ends[0]) :]
                lines, undecodable, next_line = lines.slice(1), undecodable[1:], 2
            if len(lines):
                numbers = np.arange(next_line, next_line + len(lines), dtype=np.int64)
                yield records(data, lines, undecodable, numbers, self._positions, self.columns, header_lines)
                next_line += len(lines)
            if final:
                break
        self.facts.sha256 = digest.hexdigest()
        self.facts.rows = max(next_line - 2, 0)

    def _read_block(self, offset: int) -> bytes:
        faults.failed_read(self.path)
        with open(self.path, "rb") as handle:
            handle.seek(offset)
            return handle.read(self.chunk_bytes)


def read_header(line: str, columns: Sequence[str]) -> tuple[list[str], list[int] | None]:
    """The header's names, and the position of each contract column in it (None if the names do not match)."""
    try:
        names = next(csv.reader([_strip_terminator(line).removeprefix(BOM)]), [])
    except csv.Error:  # e.g. a stray carriage return inside it: no header we know
        return [], None
    return names, header_positions(names, columns)


def refusal(head: bytes) -> str | None:
    """Why a file is refused whole, judged by its first bytes: text in UTF-16 or UTF-32 (what Excel's "Unicode
    text" saves) is not the UTF-8 CSV producers agreed to send, and read as such every line would be garbage."""
    for bom, encoding in _WIDE_BOMS:
        if head.startswith(bom):
            return f'the file is {encoding} text (as Excel\'s "Unicode text" saves it); save it as "CSV UTF-8"'
    return None


def unreadable(error: OSError) -> str:
    """Why a file the lake may not read is refused."""
    return f"the file cannot be read ({error.strerror}): give the lake read permission"


def misnamed(path: Path, columns: Sequence[str]) -> tuple[pl.DataFrame, list[FileFacts]]:
    """The one record and the facts of a file refused for its name, which is not UTF-8 (so it cannot be stored or
    shown as it is); its content is hashed, not read."""
    reason = "the file name is not valid UTF-8 (shown with \\x escapes); rename it"
    digest = hashlib.sha256(with_retries(lambda: _read_whole(path), f"reading {path}")).hexdigest()
    return refused(reason, columns, FILE_NAME), [FileFacts(digest, path.stat().st_size, 1, refused=reason)]


def refused(reason: str, columns: Sequence[str], error: str = FILE_REFUSED) -> pl.DataFrame:
    """The one record of a file refused whole (`file:encoding`, ...), at line 1, its reason as its raw text."""
    return pl.DataFrame(
        {LINE: [1], RAW: [reason], ERROR: [error], **{c: [None] for c in columns}},
        schema={LINE: pl.Int64, RAW: pl.String, ERROR: pl.String, **dict.fromkeys(columns, pl.String)},
    )


def header_positions(names: Sequence[str], columns: Sequence[str]) -> list[int] | None:
    """The position of each contract column among a header's names, matched ignoring case and surrounding
    spaces; None unless the names are exactly the contract's columns, in any order."""
    normalised = [n.strip().lower() for n in names]
    if sorted(normalised) != sorted(columns):
        return None
    return [normalised.index(c) for c in columns]


def csv_field(value: pl.Expr) -> pl.Expr:
    """RFC 4180 quoting, only where needed; null is an empty field."""
    needs_quotes = value.str.contains(r'[",\n\r]')
    quoted = pl.lit('"') + value.str.replace_all('"', '""', literal=True) + pl.lit('"')
    return pl.when(needs_quotes).then(quoted).otherwise(value).fill_null("")


def read_small_files(paths: Sequence[Path], columns: Sequence[str]) -> tuple[pl.DataFrame, list[FileFacts]]:
    """Many small files as one frame of records (with `FILE_INDEX`, the position of each record's file in
    `paths`), parsed together: per-file overhead would dominate daily files of a few hundred lines.

    Files are read whole. The records are exactly those the streaming `BronzeReader` gives for each file; only
    the terminator of a last line without one differs, and the record keeps no terminator anyway.
    """
    facts: list[FileFacts] = []
    bodies: dict[tuple[int, ...] | None, list[tuple[int, bytes]]] = {}  # by header layout
    frames = []
    for index, path in enumerate(paths):
        try:
            blob = with_retries(lambda path=path: _read_whole(path), f"reading {path}")
        except PermissionError as error:
            facts.append(FileFacts("", path.stat().st_size, 1, refused=unreadable(error)))
            frame = refused(facts[-1].refused, columns, FILE_UNREADABLE)
            frames.append(frame.with_columns(pl.lit(index, pl.UInt32).alias(FILE_INDEX)))
            continue
        digest = hashlib.sha256(blob).hexdigest()
        if reason := refusal(blob):
            facts.append(FileFacts(digest, len(blob), 1, refused=reason))
            frames.append(refused(reason, columns).with_columns(pl.lit(index, pl.UInt32).alias(FILE_INDEX)))
            continue
        ends = line_ends(blob)
        cut = int(ends[0]) if len(ends) else len(blob)
        body = blob[cut:]
        if body and not body.endswith(b"\n"):  # a last lone CR becomes CRLF: one line still, whatever file follows
            body += b"\n"
        header, positions = read_header(blob[:cut].decode("utf-8", errors="replace"), columns)
        facts.append(FileFacts(digest, len(blob), len(line_ends(body)), header, positions is not None))
        bodies.setdefault(None if positions is None else tuple(positions), []).append((index, body))
    for positions, parts in bodies.items():
        data = b"".join(body for _, body in parts)
        if not data:
            continue
        lines, undecodable = split_lines(data, final=True)
        counts = [facts[index].rows for index, _ in parts]
        first = np.repeat(np.cumsum([0, *counts[:-1]]), counts)
        numbers = np.arange(len(lines), dtype=np.int64) - first + 2
        indices = np.repeat(np.array([index for index, _ in parts], dtype=np.uint32), counts)
        frame = records(data, lines, undecodable, numbers, None if positions is None else list(positions), columns)
        frames.append(frame.with_columns(pl.Series(FILE_INDEX, indices)))
    if not frames:
        schema = {LINE: pl.Int64, RAW: pl.String, ERROR: pl.String, **dict.fromkeys(columns, pl.String)}
        return pl.DataFrame(schema=schema | {FILE_INDEX: pl.UInt32}), facts
    return pl.concat(frames).sort(FILE_INDEX, maintain_order=True), facts


def _read_whole(path: Path) -> bytes:
    faults.failed_read(path)
    return path.read_bytes()


def _strip_terminator(line: str) -> str:
    return line.removesuffix("\n").removesuffix("\r")


def line_ends(data: bytes) -> np.ndarray:
    """The offset just past each line terminator: LF, CRLF, or a CR alone (as old Mac files end lines).

    The bytes are scanned LINE_SCAN at a time: a mask of a whole 38 MB chunk is fresh memory the kernel must fault
    in and clear, a mask of a window is the same memory again (17 -> 11 ms for that chunk)."""
    arr = np.frombuffer(data, dtype=np.uint8)
    carriage_returns = b"\r" in data  # the usual case has none, and needs a third of the work
    found = []
    for start in range(0, len(arr), LINE_SCAN):
        window = arr[start : start + LINE_SCAN + 1]  # and the next byte: a CR followed by an LF does not end a line
        ends = window[:LINE_SCAN] == 10
        if carriage_returns:
            lone_cr = window[:LINE_SCAN] == 13
            lone_cr[: len(window) - 1] &= window[1:] != 10
            ends |= lone_cr
        found.append(np.flatnonzero(ends) + (start + 1))
    return np.concatenate(found) if found else np.zeros(0, dtype=np.int64)


def split_lines(data: bytes, final: bool, ends: np.ndarray | None = None) -> tuple[pl.Series, np.ndarray]:
    """Cut bytes at line ends (`ends`, else found) into a string Series without copying; each line keeps its
    terminator. A last line without one ends the data when `final`.

    Also returns which lines are not valid UTF-8: those are decoded with replacement characters, so that they
    can be quarantined with their (nearly) raw text.
    """
    if not data:
        return pl.Series(RAW, [], pl.String), np.zeros(0, dtype=bool)
    ends = line_ends(data) if ends is None else ends
    if final and (not len(ends) or ends[-1] != len(data)):
        ends = np.append(ends, len(data))
    offsets = np.concatenate(([0], ends)).astype(np.int64)
    buffers = [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    values = pa.LargeBinaryArray.from_buffers(pa.large_binary(), len(ends), buffers)
    undecodable = np.zeros(len(ends), dtype=bool)
    try:
        text = values.cast(pa.large_string())
    except pa.ArrowInvalid:
        text, undecodable = _decode_leniently(values)
    return pl.from_arrow(text).alias(RAW), undecodable


def _decode_leniently(values: pa.LargeBinaryArray) -> tuple[pa.Array, np.ndarray]:
    """The slow path, taken only for files that are not valid UTF-8."""
    decoded, bad = [], []
    for raw in values.to_pylist():
        try:
            decoded.append(raw.decode("utf-8"))
            bad.append(False)
        except UnicodeDecodeError:
            decoded.append(raw.decode("utf-8", errors="replace"))
            bad.append(True)
    return pa.array(decoded, pa.large_string()), np.array(bad, dtype=bool)

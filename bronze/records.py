"""A chunk of a bronze file's lines as records: one per line, its fields split, or its structural error.

A line is clean when it holds exactly the expected number of fields (counted separators, or for a line with quotes
a strict pattern of quoted and unquoted fields). Clean lines go through polars' fast CSV parser, whose row count is
checked against theirs; so do, in place among them, broken lines that only have the wrong number of fields and no
quote. Other lines are split by a strict regex. A line that does not split keeps a structural error; a line of the
wrong number of fields keeps its fields too, by position, so that the quarantine shows them and validation judges
them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from contracts.schema import SOURCE_LINE

LINE = SOURCE_LINE
RAW = "_raw_line"
ERROR = "_structure_error"
FIELD_COUNT = "row:field_count"  # a line split cleanly into the wrong number of fields: it keeps them by position
SLICED_RUNS = 1_024  # runs of broken lines in a chunk up to which its records are put back in order by slicing
# One field preceded by its separator: a quoted field with doubled inner quotes, or an unquoted one.
_FIELD = r',("(?:[^"]|"")*"|[^,"]*)'


def records(
    body: bytes,
    lines: pl.Series,
    undecodable: np.ndarray,
    numbers: np.ndarray,
    positions: list[int] | None,
    columns: Sequence[str],
    header_lines: int = 0,
) -> pl.DataFrame:
    """One record per line of `lines` (numbered by `numbers`), its fields split at `positions` of the header.
    `body` holds the lines' bytes after `header_lines` (0 or 1) lines of header, which the parser skips: a file's
    first chunk is not copied without its header (38 MB of readings: about 20 ms)."""
    frame = pl.DataFrame({LINE: numbers, RAW: lines})
    if positions is None:
        return frame.with_columns(
            pl.lit("file:header").alias(ERROR), *[pl.lit(None, pl.String).alias(c) for c in columns]
        )
    width = len(positions)
    raw = pl.col(RAW)
    blank = (raw.str.len_bytes() <= 2) & raw.is_in(["", "\n", "\r\n", "\r"])
    quoted = raw.str.contains('"', literal=True)
    any_quoted = bool(frame.select(quoted.any()).item())
    # exactly `width` fields: counted commas, or for quoted lines the strict field pattern (matched only when a
    # line is quoted: polars evaluates both branches of a when)
    commas_fit = raw.str.count_matches(",", literal=True) == width - 1
    fields_fit = (
        pl.when(quoted).then(raw.str.contains(_line_pattern(width))).otherwise(commas_fit) if any_quoted else commas_fit
    )
    judged = frame.select((fields_fit & ~blank & ~pl.Series(undecodable)).alias("ok"), blank.any().alias("blank"))
    is_clean = judged.get_column("ok")
    clean = is_clean.to_numpy()
    # Lines with no quote, none blank and all valid UTF-8 are each one row of polars' parser, which pads a line of
    # too few fields with nulls and cuts one of too many: what the strict split keeps of it, by position. So they
    # are parsed in place, broken or not. Otherwise the clean lines' bytes are parsed apart, and the records
    # interleaved back in line order. (38 MB of readings with 110 broken lines: 0.15 -> 0.10 s.)
    in_place = not (any_quoted or judged.get_column("blank").any() or undecodable.any())
    if clean.all() or in_place:
        fields = _parse_clean(body, lines, width, any_quoted, header_lines, ragged=not clean.all())
        if fields is not None:
            field_count = pl.when(pl.lit(is_clean)).then(None).otherwise(pl.lit(FIELD_COUNT))
            return _with_fields(frame, fields, positions, columns, field_count)
    else:
        clean_rows = frame.filter(is_clean)
        fields = _parse_clean(_clean_bytes(body, lines, is_clean, undecodable), clean_rows[RAW], width, any_quoted)
        if fields is not None:
            other = _split_other(frame.filter(~is_clean), undecodable[~clean], positions, list(columns))
            return in_line_order(_with_fields(clean_rows, fields, positions, columns), other, clean)
    return _split_other(frame, undecodable, positions, list(columns))  # polars' parser disagrees: split strictly


def _with_fields(
    rows: pl.DataFrame,
    fields: pl.DataFrame,
    positions: list[int],
    columns: Sequence[str],
    error: pl.Expr = pl.lit(None, pl.String),
) -> pl.DataFrame:
    """Records of parsed lines: their structural `error` (none by default), the header's columns taken from their
    positions."""
    return rows.with_columns(
        error.alias(ERROR), *[fields.get_column(f"field_{p}").alias(c) for p, c in zip(positions, columns)]
    )


def in_line_order(clean: pl.DataFrame, broken: pl.DataFrame, is_clean: np.ndarray) -> pl.DataFrame:
    """The clean and the broken records (each in line order) interleaved back in line order (`is_clean`, by line).
    A chunk's broken lines come in a few runs: the clean records are sliced between them, not copied (gathering
    every record cost 0.13 s of CPU per million lines, for a few dozen broken ones). Beyond SLICED_RUNS runs, a
    gather costs less than as many slices."""
    brokenness = np.diff((~is_clean).astype(np.int8), prepend=0, append=0)
    starts, ends = np.flatnonzero(brokenness == 1), np.flatnonzero(brokenness == -1)
    if len(starts) > SLICED_RUNS:
        order = np.concatenate([np.flatnonzero(is_clean), np.flatnonzero(~is_clean)])
        return pl.concat([clean, broken])[np.argsort(order, kind="stable")]
    lengths = ends - starts
    broken_before = np.cumsum(lengths) - lengths
    pieces, taken = [], 0
    for start, length, before in zip(starts.tolist(), lengths.tolist(), broken_before.tolist()):
        clean_before = start - before
        pieces += [clean.slice(taken, clean_before - taken), broken.slice(before, length)]
        taken = clean_before
    return pl.concat([*pieces, clean.slice(taken)], rechunk=True)


def _line_pattern(width: int) -> str:
    """A whole line of exactly `width` fields, each quoted (with doubled inner quotes) or unquoted."""
    field = r'(?:"(?:[^"]|"")*"|[^,"]*)'
    return rf"^{field}(?:,{field}){{{width - 1}}}\r?\n?$"


def _clean_bytes(body: bytes, lines: pl.Series, is_clean: pl.Series, undecodable: np.ndarray) -> bytes | None:
    """The bytes of the clean lines of `body`, whose end `lines` cover in order (a header before them is left out):
    the runs of clean lines between broken ones, sliced from the bytes without making Python text of them (a byte
    mask over a 40 MB chunk cost twice as much). None if a line was decoded with replacements (its text no longer
    measures its bytes)."""
    if undecodable.any():
        return None
    lengths = lines.str.len_bytes().to_numpy()
    ends = np.cumsum(lengths)
    if not len(ends) or int(ends[-1]) > len(body):
        return None
    ends += len(body) - int(ends[-1])
    starts = ends - lengths
    flips = np.flatnonzero(np.diff(is_clean.to_numpy(), prepend=False, append=False))  # run starts, then ends
    view = memoryview(body)
    return b"".join(view[start:end] for start, end in zip(starts[flips[::2]].tolist(), ends[flips[1::2] - 1].tolist()))


def _parse_clean(
    body: bytes | None, lines: pl.Series, width: int, quoted: bool, header_lines: int = 0, ragged: bool = False
) -> pl.DataFrame | None:
    """Fields of `lines` by polars' CSV parser, from their bytes `body` when known (after `header_lines` lines of
    header); None if its row count disagrees. Lines proven clean hold `width` fields; with `ragged`, a line of the
    wrong number (unquoted) is padded with nulls or cut to them."""
    names = [f"field_{i}" for i in range(width)]
    if len(lines) == 0:
        return pl.DataFrame(schema={n: pl.String for n in names})
    buffer, skip = (body, header_lines) if body is not None else (lines.str.join("").item().encode(), 0)
    try:
        parsed = pl.read_csv(
            buffer,
            has_header=False,
            new_columns=names,
            schema={n: pl.String for n in names},
            quote_char='"' if quoted else None,
            truncate_ragged_lines=ragged,
            skip_lines=skip,
        )
    except pl.exceptions.PolarsError:
        return None
    return parsed if len(parsed) == len(lines) else None


def _split_other(
    frame: pl.DataFrame, undecodable: np.ndarray, positions: list[int], columns: list[str]
) -> pl.DataFrame:
    """Lines that did not prove clean: split them strictly, or give each its structural error."""
    width = len(positions)
    frame = frame.with_columns(strip_terminators(pl.col(RAW)))
    prefixed = pl.lit(",") + pl.col(RAW)
    element = pl.element()
    unquoted = (
        pl.when(element.str.starts_with('"'))
        .then(element.str.slice(1, element.str.len_chars() - 2).str.replace_all('""', '"', literal=True))
        .otherwise(pl.when(element != "").then(element))  # an empty field is null, as polars' parser gives it
    )
    tokens = pl.col("_tokens")
    error = (
        pl.when(pl.Series(undecodable))
        .then(pl.lit("row:encoding"))
        .when(pl.col(RAW) == "")
        .then(pl.lit("row:blank"))
        .when(tokens.list.join("") != prefixed)
        .then(pl.lit("row:quoting"))
        .when(tokens.list.len() != width)
        .then(pl.lit(FIELD_COUNT))
        .otherwise(None)
    )
    values = tokens.list.eval(element.str.slice(1)).list.eval(unquoted)
    return (
        frame.with_columns(prefixed.str.extract_all(_FIELD).alias("_tokens"))
        .with_columns(error.alias(ERROR))
        .with_columns(
            pl.when(pl.col(ERROR).is_null() | (pl.col(ERROR) == FIELD_COUNT))
            .then(values.list.get(p, null_on_oob=True))
            .alias(c)
            for p, c in zip(positions, columns)
        )
        .select(LINE, RAW, ERROR, *columns)
    )


def strip_terminators(raw: pl.Expr) -> pl.Expr:
    """The raw line as written, without its LF or CRLF."""
    return raw.str.strip_suffix("\n").str.strip_suffix("\r")

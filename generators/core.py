"""What every generator shares: seeding, CSV text, immutable bronze writes and the dirt ledger.

Determinism: each task draws from its own random stream, derived from the seed and the task's labels (never
from worker identity or timing), and writes its own files, so the same seed gives byte-identical bronze for any
number of workers.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from bronze.reader import csv_field
from contracts.schema import STRING, DataType, Table
from core.errors import LakehouseError
from core.lake import Lake
from core.store import write_json_atomically
from generators.workbook import workbook_bytes

LEDGER_SCHEMA = {"file": pl.String, "line": pl.Int64, "kind": pl.String, "detail": pl.String}


def rng_for(seed: int, *labels: object) -> np.random.Generator:
    """An independent random stream for one task, e.g. rng_for(42, "readings", "2024-03", 0)."""
    words = [int.from_bytes(hashlib.sha256(str(label).encode()).digest()[:4], "little") for label in labels]
    return np.random.default_rng(np.random.SeedSequence([seed, *words]))


class Streams:
    """Random streams drawn from as one, for rows of several files made together: a draw of values for all the rows
    takes each file's share (`sizes`, in order) from that file's own stream, so each file gets the values it would
    get if it were made alone."""

    def __init__(self, streams: Sequence[np.random.Generator], sizes: Sequence[int]):
        self.streams, self.sizes = streams, sizes

    def random(self, n: int) -> np.ndarray:
        return self._draw(n, lambda rng, k: rng.random(k))

    def integers(self, low: int, high: int, n: int) -> np.ndarray:
        return self._draw(n, lambda rng, k: rng.integers(low, high, k))

    def _draw(self, n: int, draw: Callable[[np.random.Generator, int], np.ndarray]) -> np.ndarray:
        if n != sum(self.sizes):
            raise ValueError(f"{n} values asked of streams for {sum(self.sizes)} rows")
        return np.concatenate([draw(rng, int(k)) for rng, k in zip(self.streams, self.sizes)])


Random = np.random.Generator | Streams


def csv_lines(text: pl.DataFrame, table: Table) -> pl.Series:
    """One CSV line per row of a frame of text columns, in the contract's column order.

    Only free-text columns can hold a separator or a quote, so only they are checked for quoting.
    """
    fields = [
        csv_field(pl.col(c.name)) if c.type == STRING else pl.col(c.name).fill_null("") for c in table.source_columns
    ]
    return text.select(pl.concat_str(fields, separator=",").alias("line")).to_series()


def csv_header(table: Table, newline: str = "\n") -> str:
    """The first line of a generated CSV file: the contract's column names."""
    return ",".join(c.name for c in table.source_columns) + newline


def remember_parameters(lake: Lake, domain: str, parameters: dict[str, Any], extendable: set[str]) -> None:
    """One domain's generated bronze comes from one set of parameters. The first run records them; a later run
    must match, except in parameters that only add data (such as --end), so files already written stay valid."""
    path = lake.ledger / domain / "parameters.json"
    current = json.loads(json.dumps({k: v for k, v in parameters.items() if k not in extendable}, default=str))
    if not path.exists():
        write_json_atomically(path, current)  # whole or absent, even if the generator is killed meanwhile
        return
    recorded = json.loads(path.read_text())
    differing = sorted(k for k in current.keys() | recorded.keys() if current.get(k) != recorded.get(k))
    if differing:
        changes = ", ".join(f"{k} {recorded.get(k)} -> {current.get(k)}" for k in differing)
        raise LakehouseError(
            f"the {domain} bronze in {lake.bronze} was generated with other parameters ({changes}); bronze files "
            "are immutable, so keep the parameters (only --end may grow), or generate into an empty lake "
            "(`make clean`, or --data-dir)"
        )


def write_immutable(path: Path, content: bytes) -> bool:
    """Write a bronze file atomically; an identical existing file is left alone, a different one is an error.

    Returns whether the file was written.
    """
    if path.exists():
        if path.read_bytes() == content:
            return False
        raise LakehouseError(
            f"{path} already exists with different content; bronze files are immutable, so generate with the "
            "same parameters, or into an empty lake (`make clean`, or --data-dir)"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    _sweep(path.parent)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_bytes(content)
    os.replace(temporary, path)
    return True


_SWEPT: set[Path] = set()  # folders this process has swept


def _sweep(folder: Path) -> None:
    """Delete the temporaries that generators killed midway left in `folder` (`.<name>.<pid>.tmp` of a process
    that is gone), so that a rerun leaves bronze exactly as an uninterrupted run would. Once per folder and
    process: a rerun writes every file the killed one did not finish, so it passes through each such folder."""
    if folder in _SWEPT:
        return
    _SWEPT.add(folder)
    for entry in os.scandir(folder):
        pid = entry.name.removesuffix(".tmp").rpartition(".")[2]
        if entry.name.startswith(".") and entry.name.endswith(".tmp") and pid.isdigit() and not _alive(int(pid)):
            Path(entry.path).unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's
        return True
    return True


@dataclass
class TableFile:
    """One generated bronze file and the dirt injected into it."""

    table: Table
    name: str
    content: bytes  # the header (see csv_header), then the lines, each ending in a newline
    rows: int  # lines after the header
    ledger: pl.DataFrame  # LEDGER_SCHEMA, without the file column filled

    def write(self, lake: Lake) -> tuple[bool, int]:
        """The ledger first: generators skip work whose bronze files exist, so a file's ledger must be there
        before it (a generator killed between the two would otherwise leave a file without its ledger for good)."""
        _write_ledger(lake, self.table, self.name, self.ledger)
        return write_immutable(lake.bronze / _rel(self.table, self.name), self.content), self.rows


@dataclass
class WorkbookFile:
    """One generated Excel workbook: a sheet of text cells per name, and the dirt injected into it."""

    table: Table
    name: str
    sheets: dict[str, pl.DataFrame]  # text cells in the contract's columns (see generators.workbook)
    ledger: pl.DataFrame  # LEDGER_SCHEMA plus the sheet, without the file column filled

    def write(self, lake: Lake) -> tuple[bool, int]:
        """The ledger first, as for a CSV file."""
        _write_ledger(lake, self.table, f"{self.name}.csv", self.ledger)
        kinds = {c.name: _cell_kind(c.type) for c in self.table.source_columns}
        written = write_immutable(lake.bronze / _rel(self.table, self.name), workbook_bytes(self.sheets, kinds))
        return written, sum(len(sheet) for sheet in self.sheets.values())


def _cell_kind(kind: DataType) -> str:
    """How a workbook holds a column: dates as date cells, numbers as numbers, the rest as text."""
    if kind.polars.is_temporal():
        return "datetime"
    return "number" if kind.polars.is_numeric() else "string"


def _rel(table: Table, name: str) -> str:
    return f"{table.domain}/{table.bronze_dir_name}/{name}"


def _write_ledger(lake: Lake, table: Table, name: str, ledger: pl.DataFrame) -> None:
    """The ledger of a file, next to where bronze keeps it: `_ledger/<domain>/<table>/<name>`."""
    if len(ledger):
        columns = [c for c in ledger.columns if c not in LEDGER_SCHEMA]  # a workbook's sheet
        source = _rel(table, name.removesuffix(".csv") if columns else name)
        rows = ledger.select(pl.lit(source).alias("file"), *columns, *list(LEDGER_SCHEMA)[1:])
        write_immutable(lake.ledger / table.domain / table.name / name, rows.write_csv().encode())


def count_file(totals: dict[str, dict[str, int]], table: str, written: bool, rows: int) -> None:
    """Tally a generated file into a generator's summary: files written or already present, rows written."""
    entry = totals.setdefault(table, {"written": 0, "present": 0, "rows": 0})
    entry["written" if written else "present"] += 1
    entry["rows"] += rows


def pick(rng: Random, n: int, rate: float) -> np.ndarray:
    """A boolean mask choosing each of n items with probability `rate`."""
    return rng.random(n) < rate if rate > 0 else np.zeros(n, dtype=bool)


def empty_ledger() -> pl.DataFrame:
    return pl.DataFrame(schema=LEDGER_SCHEMA)


def concat_ledgers(parts: Iterable[pl.DataFrame]) -> pl.DataFrame:
    parts = [p for p in parts if len(p)]
    return pl.concat(parts) if parts else empty_ledger()

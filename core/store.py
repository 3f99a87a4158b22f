"""Atomic publication of table versions.

A table version is a directory under `_versions/` written aside; it becomes current by one atomic step, the
`os.replace` of the table's state file (`_state/.../<table>.json`), which names the version and everything the
version accounts for (bronze files ingested, row counts, input fingerprints). The stable paths readers use
(`silver/<domain>/<table>`, `silver/_quarantine/...`, `gold/...`) are symlinks derived from the state and
repaired at the start of every run, so a crash between the two steps leaves readers on the previous version
until then. Versions that no state names are leftovers of a crash and are deleted under the run lock. The
previous version is kept one more run so that a reader that resolved the old symlink can finish its query.
"""

from __future__ import annotations

import atexit
import ctypes
import json
import os
import shutil
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from contracts.schema import JSON, Table
from core import faults
from core.errors import LakehouseError
from core.lake import Lake

if TYPE_CHECKING:  # imported by read_table alone: what reads only state (a run with nothing new, `lakehouse sql`)
    import polars as pl  # does not pay for polars

_STATES: dict[Path, tuple[tuple[int, int, int], dict[str, Any]]] = {}  # state file -> (its identity, parsed)
# How versions are laid out on disk; a table published under another layout is rebuilt whole by its next run.
# 2: Hive-style partitions, the partition column in folder names only.
# 3: quarantine files by group of bronze files (Table.quarantine_group): payments' a month of daily files, a day of
#    telecom's five-minute feed files.
LAYOUT = 3
DATA = "data"
QUARANTINE = "quarantine"
# Parquet is written with zstd at level 1: measured on 3.3 M trades, polars writes it in 0.85 s instead of 1.14 s at
# its default level, and the file is 3 % smaller; DuckDB writes 10 M rows in 6.2 s instead of 7.0 s.
ZSTD_LEVEL = 1
# Rows per row group of a file sorted for lookups (a table's `sorted_by`): a lookup decodes one group, not a default
# 122,880 rows (DuckDB) or 128 MiB (Spark)
LOOKUP_ROW_GROUP = 16_384


class TableStore:
    """The versions, current state and stable paths of one table."""

    def __init__(self, lake: Lake, table: Table):
        self.lake = lake
        self.table = table
        self.state_path = lake.state_path(table)
        self.versions = lake.versions_dir(table)

    def state(self) -> dict[str, Any] | None:
        """The committed state of the current version, or None before the first publication. Read-only: it is
        parsed once per published version (a table with 30,000 bronze files has a state of megabytes, and a run
        looks at each state many times)."""
        try:
            stat = os.stat(self.state_path)
        except FileNotFoundError:
            return None
        identity = (stat.st_ino, stat.st_mtime_ns, stat.st_size)  # each publication replaces the file
        cached = _STATES.get(self.state_path)
        if cached is None or cached[0] != identity:
            try:
                cached = (identity, json.loads(self.state_path.read_text()))
            except FileNotFoundError:
                return None
            _STATES[self.state_path] = cached
        return cached[1]

    def reusable_state(self) -> dict[str, Any] | None:
        """The committed state, if the next version may build on it: None before the first publication, or when
        the version was laid out by an older lakehouse."""
        state = self.state()
        return state if state is not None and state.get("layout") == LAYOUT else None

    def current_dir(self) -> Path | None:
        state = self.state()
        return self.versions / state["version"] if state else None

    def new_version(self, version: str) -> Path:
        """A fresh, empty directory to write a version into; unpublished until `publish`."""
        path = self.versions / version
        if path.exists():
            shutil.rmtree(path)
        (path / DATA).mkdir(parents=True)
        return path

    def publish(self, version_dir: Path, state: dict[str, Any]) -> None:
        """Make `version_dir` the current version in one atomic step, then point the stable paths at it."""
        faults.point("before_commit", self.table)
        _make_durable(version_dir)
        write_json_atomically(self.state_path, {**state, "version": version_dir.name, "layout": LAYOUT}, compact=True)
        faults.point("after_commit", self.table)
        self.repair_links()
        self.collect_garbage(keep_previous=state.get("previous_version"), in_background=True)

    def repair_links(self) -> None:
        """Point the stable paths at the committed version (no-op when they already do)."""
        current = self.current_dir()
        if current is None:
            return
        _point(self.lake.table_path(self.table), current / DATA)
        if (current / QUARANTINE).is_dir():
            _point(self.lake.quarantine_path(self.table), current / QUARANTINE)

    def collect_garbage(self, keep_previous: str | None = None, in_background: bool = False) -> None:
        """Delete versions that are neither current nor the one just replaced; `in_background` while the run
        goes on (no reader may use them any more; `wait_for_garbage` before the run ends)."""
        state = self.state()
        keep = {state["version"]} if state else set()
        if keep_previous:
            keep.add(keep_previous)
        if self.versions.is_dir():
            for path in self.versions.iterdir():
                if path.name in keep:
                    continue
                if in_background:
                    _deletions.append(_deleter.submit(shutil.rmtree, path, ignore_errors=True))
                else:
                    shutil.rmtree(path, ignore_errors=True)


# Old versions of a daily-partitioned table are hundreds of folders: deleting them overlaps the rest of the run.
_deleter = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lakehouse-garbage")
_deletions: list[Future] = []


def wait_for_garbage() -> None:
    """Wait until the versions set for deletion are gone (a crash meanwhile leaves them to `recover`)."""
    while _deletions:
        _deletions.pop().result()


atexit.register(wait_for_garbage)  # also when a command leaves at once (pipelines.cli.entry), past any run's own wait


def link_files(source: Path, target: Path) -> None:
    """Hard-link every file under `source` into `target` (an unchanged partition costs no copy)."""
    for root, _, files in os.walk(source):
        destination = os.path.join(target, os.path.relpath(root, source))
        os.makedirs(destination, exist_ok=True)
        for name in files:
            os.link(os.path.join(root, name), os.path.join(destination, name))


def _make_durable(directory: Path) -> None:
    """Flush what this version wrote to disk, before the state names it.

    On Linux, one syncfs(2) of the lake's file system: a version of a table with hundreds of daily partitions
    has hundreds of fresh directories (of hard links), and an fsync of each costs more than the rest of a small
    run. Elsewhere, an fsync of every file it wrote and of every directory."""
    if _syncfs is not None:
        fd = os.open(directory, os.O_RDONLY)
        try:
            if _syncfs(fd) != 0:
                error = ctypes.get_errno()
                raise OSError(error, f"syncfs failed: {os.strerror(error)}", str(directory))
        finally:
            os.close(fd)
        return
    for root, _, files in os.walk(directory):
        for name in files:
            path = os.path.join(root, name)
            if os.stat(path).st_nlink == 1:
                _fsync(path, os.O_RDONLY)
        _fsync(root, os.O_RDONLY)


_syncfs = getattr(ctypes.CDLL(None, use_errno=True), "syncfs", None)


def _fsync(path: str | Path, flags: int) -> None:
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _point(link: Path, target: Path) -> None:
    relative = os.path.relpath(target, link.parent)
    if link.is_symlink() and os.readlink(link) == relative:
        return
    if link.exists() and not link.is_symlink():
        raise LakehouseError(
            f"{link} is a real directory, but the lake publishes tables there as symlinks; move it away and rerun"
        )
    link.parent.mkdir(parents=True, exist_ok=True)
    temporary = link.with_name(f".{link.name}.link")
    if temporary.is_symlink() or temporary.exists():
        temporary.unlink()
    os.symlink(relative, temporary)
    os.replace(temporary, link)


def read_table(path: Path, table: Table, columns: list[str] | None = None) -> pl.DataFrame:
    """A table's rows (all the files' columns, or `columns`) from the Parquet files under `path` (its stable path,
    or a version's data folder), with its partition column read back from the folder names."""
    import polars as pl

    partition = table.partition.column if table.partition else None
    partitioned = partition is not None and any(p.is_dir() for p in path.iterdir())
    rows = pl.scan_parquet(
        path / "*" / "*.parquet" if partitioned else path / "*.parquet",
        hive_partitioning=partitioned,
        hive_schema={partition: pl.String()} if partitioned else None,
    )
    # polars reads Parquet's JSON columns as bytes: back to the text their contract's polars type says
    text = [c.name for c in table.columns if c.type is JSON and (columns is None or c.name in columns)]
    return (rows.select(columns) if columns else rows).with_columns(pl.col(text).cast(pl.String)).collect()


def write_json_atomically(path: Path, payload: dict[str, Any], compact: bool = False) -> None:
    """JSON for people to read (indented), or `compact`: Python's fast encoder, for large internal files."""
    indent, separators = (None, (",", ":")) if compact else (1, None)
    text = json.dumps(payload, indent=indent, separators=separators, sort_keys=True, default=str)
    write_atomically(path, text.encode())


def write_atomically(path: Path, content: bytes) -> None:
    """Replace `path` with `content` whole, durably: a reader sees the old file or the new one. A write that fails
    (a full disk) leaves no temporary behind: no later write would replace it, as a run manifest's name never
    comes back."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        with open(temporary, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except OSError:
        temporary.unlink(missing_ok=True)
        raise
    _fsync(path.parent, os.O_RDONLY)

"""Find the CSV files of a bronze table and hold them to being immutable once ingested."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import LakehouseError

# Small files are read and validated together, a batch at a time: per-file overhead would dominate daily files
# of 500 rows.
SMALL_FILE_BYTES = 8 * 2**20
BATCH_BYTES = 64 * 2**20
BATCH_FILES = 64  # several batches, so that threads share the work


@dataclass(frozen=True)
class BronzeFile:
    path: Path
    # path relative to the bronze root, e.g. meters/readings/readings_2024-01_b000.csv; bytes of a name that are
    # not UTF-8 are shown as \xNN escapes (and the file refused: see `name_ok`)
    rel: str
    bytes: int
    mtime_ns: int
    name_ok: bool = True  # the name is valid UTF-8, so that it can be stored and shown as it is
    ctime_ns: int = 0  # changes with permissions too: a file refused as unreadable is read again after a chmod


def discover(bronze_root: Path, table_dir: Path, formats: tuple[str, ...] = ("csv",)) -> list[BronzeFile]:
    """Every file of the given formats (`*.csv`, `*.xlsx`) under the table's directory (sub-directories too, e.g.
    Hive-style date=...).

    Names starting with `.` or `_` are skipped anywhere in the path: producers write there first and rename
    into place when the file is complete.
    """
    if not table_dir.is_dir():
        return []
    suffixes = tuple(f".{f}" for f in formats)
    prefix = table_dir.relative_to(bronze_root).as_posix()
    found = []
    # os.walk over directory entries: one stat per file, however many thousands a folder holds
    for folder, subfolders, _ in os.walk(table_dir):
        subfolders[:] = [d for d in subfolders if d[0] not in "._"]
        rel_folder = os.path.relpath(folder, table_dir).replace(os.sep, "/")
        base = prefix if rel_folder == "." else f"{prefix}/{rel_folder}"
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.name[0] in "._" or not entry.name.lower().endswith(suffixes) or not entry.is_file():
                    continue
                stat = entry.stat()
                rel = f"{base}/{entry.name}"
                shown = rel.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
                file = BronzeFile(
                    Path(entry.path), shown, stat.st_size, stat.st_mtime_ns, shown == rel, stat.st_ctime_ns
                )
                found.append(file)
    return sorted(found, key=lambda f: f.rel)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(16 * 1024 * 1024):
            digest.update(block)
    return digest.hexdigest()


def is_unchanged(file: BronzeFile, facts: Mapping[str, Any]) -> bool:
    """The file is the one ingested (by size and time, else by hash)."""
    return (file.bytes, file.mtime_ns) == (facts["bytes"], facts["mtime_ns"]) or sha256_of(file.path) == facts["sha256"]


def refused_and_changed(ingested: Mapping[str, Mapping[str, Any]], present: Mapping[str, BronzeFile]) -> list[str]:
    """The files refused whole (they loaded nothing) that were removed or replaced since, or whose permissions
    changed (their ctime moved): such a file is forgotten, or read again, without breaking immutability."""
    return [
        rel for rel, facts in ingested.items()
        if facts.get("refused") and (
            rel not in present or not is_unchanged(present[rel], facts)
            or present[rel].ctime_ns != facts.get("ctime_ns", present[rel].ctime_ns)
        )
    ]  # fmt: skip


class BronzeChangedError(LakehouseError):
    """Ingested bronze files changed or vanished; `altered` maps each to whether it still exists, so that the run
    can name the cheapest repair."""

    def __init__(self, message: str, altered: dict[str, bool]):
        super().__init__(message)
        self.altered = altered


def check_unchanged(ingested: Mapping[str, Mapping[str, Any]], present: Mapping[str, BronzeFile]) -> None:
    """Bronze is immutable: an ingested file may not vanish or change (checked by size and time, then hash)."""
    altered = {}
    for rel, facts in ingested.items():
        file = present.get(rel)
        if file is None or not is_unchanged(file, facts):
            altered[rel] = file is not None
    if not altered:
        return
    first, exists = next(iter(altered.items()))
    more = f" (and {len(altered) - 1} more)" if len(altered) > 1 else ""
    if exists:
        message = f"bronze file {first}{more} changed after it was ingested; bronze is immutable: restore it and add "
        message += "the change as a new file, or rebuild from bronze as it is now"
    else:
        message = f"bronze file {first}{more} was ingested but is gone; bronze is immutable: restore it, or rebuild "
        message += "without it"
    raise BronzeChangedError(message, altered)


def batches_of(files: list[BronzeFile], threads: int = 1) -> list[list[BronzeFile]]:
    """Each large file alone, and each file whose name is not UTF-8; small ones together, CSV files with CSV files
    and workbooks with workbooks (up to BATCH_FILES and BATCH_BYTES a batch, and about a `threads`-th of the small
    files' bytes, so that every thread has a batch: a year of 4 MB monthly files was one batch, read by one thread
    while the other waited), in path order within each."""
    batches: list[list[BronzeFile]] = [[f] for f in files if not f.name_ok]
    share = sum(f.bytes for f in files if f.bytes <= SMALL_FILE_BYTES) / threads
    for kind in (".csv", ".xlsx"):
        size = 0
        named = (f for f in files if f.name_ok and f.rel.lower().endswith(kind))
        for file in sorted(named, key=lambda f: f.rel):
            last = batches[-1] if batches and batches[-1][0].rel.lower().endswith(kind) else None
            joins = file.bytes <= SMALL_FILE_BYTES and last and last[0].bytes <= SMALL_FILE_BYTES and last[0].name_ok
            if (
                not joins
                or len(last) >= BATCH_FILES
                or size + file.bytes > BATCH_BYTES
                or size + file.bytes / 2 > share
            ):
                batches.append([])
                size = 0
            batches[-1].append(file)
            size += file.bytes
    return batches

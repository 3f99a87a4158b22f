"""Bring one silver table up to date with its bronze files, incrementally and atomically.

A silver table is a function of the set of its bronze rows and its parents' keys, whatever order the files
arrived in:
- each row is validated against the contract; a row breaking any rule is quarantined with all its rules;
- among valid rows, the one earliest in (source file, line) order wins its key; the others are duplicates;
- rows quarantined for a missing parent are validated again whenever a parent table changes.
A run reads only files it has not seen, rewrites only the partitions they touch (hard-linking the rest; where no
new row shares a key with a partition's rows, it only adds a file of them to it: silver/partitions.py) and
publishes the new version in one atomic step, after checking that every bronze row is accounted for. Files and
partitions are processed side by side in threads: polars and numpy release the GIL. Small files are read in
batches and small partitions merged in groups, so that a year of daily files costs about what its rows cost.
"""

from __future__ import annotations

import itertools
import os
import shutil
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import polars as pl

from bronze.files import BronzeFile, batches_of, check_unchanged, discover, refused_and_changed
from bronze.reader import FILE_INDEX, BronzeReader, misnamed, read_small_files
from bronze.records import RAW, strip_terminators
from bronze.workbook import is_workbook, read_workbooks
from contracts.schema import Table
from core.lake import Lake
from core.store import QUARANTINE, TableStore
from silver import quarantine as q
from silver.keys import maybe_shared
from silver.partitions import WHOLE, PartitionMerging, partition_names
from silver.result import Derivation, SilverResult
from silver.rules import RULES, validate
from silver.staging import PARTITION, Staging

SET_ASIDE = "_set_aside"  # quarantine rows written aside during the run, before the quarantine is rebuilt
Progress = Callable[..., Iterable]


class SilverJob(PartitionMerging):
    def __init__(
        self,
        lake: Lake,
        table: Table,
        run_id: str,
        parents: Mapping[str, tuple[str, Callable[[], pl.DataFrame]]],
        derivation: Derivation | None = None,
        full_refresh: bool = False,
        progress: Progress | None = None,
        threads: int | None = None,
        reprocess: str | None = None,
    ):
        self.lake, self.table, self.run_id = lake, table, run_id
        # a partition (a day) to rebuild from its bronze files, read again even if they changed (Hive-style
        # folders such as date=2024-03-01 say which files hold it)
        self.reprocess = reprocess
        self.redo: set[str] = set()  # the files of that partition, found when the run starts
        self.read_parents = {name: read for name, (_, read) in parents.items()}  # read once there is work
        self.parents: dict[str, pl.DataFrame] = {}
        self.parent_versions = {name: version for name, (version, _) in parents.items()}
        self.derivation = derivation
        self.row_wise = getattr(derivation, "row_wise", False)
        self.store = TableStore(lake, table)
        self.previous = None if full_refresh else self.store.reusable_state()
        self.previous_dir = self.store.current_dir() if self.previous else None
        self.progress = progress or (lambda items, **_: items)
        self.threads = threads or os.cpu_count() or 1
        self.columns = [c.name for c in table.source_columns]
        # what a partition stores besides lineage: the source columns, and what a row-wise derivation added
        spec = table.partition
        derived = [c.name for c in table.columns if not c.source and (spec is None or c.name != spec.column)]
        self.stored = self.columns + (derived if self.row_wise else [])
        self.lineage = q.lineage(table)
        self.released: dict[str, list[pl.DataFrame]] = defaultdict(list)  # quarantine file -> its rows loaded now
        self.set_aside_count = itertools.count()
        self.stage_count = itertools.count()
        self.lock = threading.Lock()  # guards the index below, filled by threads
        self.set_aside: dict[str, list[Path]] = defaultdict(list)  # quarantine file -> files with its rows

    def run(self) -> SilverResult:
        started = time.monotonic()
        bronze_dir = self.lake.bronze_dir(self.table.domain, self.table.bronze_dir_name)
        present = {f.rel: f for f in discover(self.lake.bronze, bronze_dir, self.table.bronze_formats)}
        ingested = dict(self.previous["files"]) if self.previous else {}
        self.redo = {rel for rel in present if self.reprocess and f"={self.reprocess}/" in rel}
        ingested = {rel: facts for rel, facts in ingested.items() if rel not in self.redo}
        withdrawn = refused_and_changed(ingested, present)  # loaded nothing: replaced (read again) or removed
        for rel in withdrawn:
            del ingested[rel]
            self.released[q.part_name(self.table, rel)].append(q.whole_file(self.table, rel))
        check_unchanged(ingested, present)
        new_files = [f for rel, f in present.items() if rel not in ingested]
        parents_changed = self.previous is not None and self.previous["parent_versions"] != self.parent_versions
        if self.previous is not None and not new_files and not parents_changed and not withdrawn:
            return SilverResult(self.table, "up_to_date", self.previous["version"], totals=self.previous["rows"])

        self.parents = {name: read() for name, read in self.read_parents.items()}
        self.version_dir = self.store.new_version(self.run_id)
        self.staging = Staging(self.version_dir / "_staging", self.table.key[0], sum(f.bytes for f in new_files))
        batches = batches_of(new_files, self.threads)
        inputs = [
            f for batch in self._in_threads(self._ingest, batches, f"silver {self.table.name}", "batch") for f in batch
        ]
        ingested.update({facts["file"]: facts for facts in inputs})
        if parents_changed:
            self._recheck_orphans()
        partitions = self._merge_partitions()
        if self.table.key_across_partitions:
            self._unique_across_partitions(partitions)
        self._write_quarantine()
        totals = q.account(self.table, self.version_dir / QUARANTINE, partitions, ingested)
        self.staging.remove()
        shutil.rmtree(self.version_dir / SET_ASIDE, ignore_errors=True)
        before = self.previous["rows"] if self.previous else dict.fromkeys(totals, 0)
        self.store.publish(
            self.version_dir,
            {
                "run_id": self.run_id,
                "previous_version": self.previous_dir.name if self.previous_dir else None,
                "files": ingested,
                "parent_versions": self.parent_versions,
                "partitions": partitions,
                "rows": totals,
            },
        )
        return SilverResult(
            self.table,
            "built",
            self.run_id,
            inputs=inputs,
            totals=totals,
            changes={k: totals[k] - before.get(k, 0) for k in totals},
            seconds=round(time.monotonic() - started, 3),
        )

    def _in_threads(self, work: Callable, items: list, desc: str, unit: str, threads: int | None = None) -> list:
        """Apply `work` to items in threads; results in order."""
        with ThreadPoolExecutor(max_workers=threads or self.threads) as pool:
            return list(self.progress(pool.map(work, items), desc=desc, unit=unit, total=len(items)))

    def _set_aside(self, rows: pl.DataFrame) -> None:
        """Write quarantine rows aside (bounded memory), indexed by the quarantine file each one belongs to."""
        if rows.is_empty():
            return
        path = self.version_dir / SET_ASIDE / f"{next(self.set_aside_count):08d}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        rows.write_parquet(path)
        with self.lock:
            for source in rows.get_column(q.FILE).unique():
                self.set_aside[q.part_name(self.table, source)].append(path)

    # -- new bronze files ----------------------------------------------------------------------------------------

    def _ingest(self, files: list[BronzeFile]) -> list[dict[str, Any]]:
        """Read a batch of files (one large CSV file a chunk at a time, many small ones parsed together, or
        workbooks) and stage their rows."""
        name = q.file_key(files[0].rel)
        if not files[0].name_ok:  # batched alone (see batches_of): its name cannot be stored as it is
            raw, facts = misnamed(files[0].path, self.columns)
            self._check(q.traced(self.table, raw, files[0].rel), name)
        elif len(files) == 1 and not is_workbook(files[0].path):
            reader = BronzeReader(files[0].path, self.columns)
            for raw in reader:
                self._check(q.traced(self.table, raw, files[0].rel), f"{name}-{next(self.stage_count)}")
            facts = [reader.facts]
        else:
            read = read_workbooks if is_workbook(files[0].path) else read_small_files
            raw, facts = read([f.path for f in files], self.columns)
            rels = pl.Series(q.FILE, [f.rel for f in files])
            self._check(q.traced(self.table, raw.drop(FILE_INDEX), rels.gather(raw[FILE_INDEX])), name)
        return [
            {
                "file": file.rel,
                "sha256": read.sha256,
                "bytes": read.bytes,
                "rows": read.rows,
                "mtime_ns": file.mtime_ns,
                "header_ok": read.header_ok or read.rows == 0,
                "ingested_by": self.run_id,
                **({"refused": read.refused, "ctime_ns": file.ctime_ns} if read.refused else {}),
            }
            for file, read in zip(files, facts)
        ]

    def _check(self, raw: pl.DataFrame, name: str) -> None:
        """Validate raw records (of one or more files); set aside the invalid, stage the valid as `name`."""
        checked = validate(raw, self.table, self.parents)
        rules = checked.get_column(RULES)
        ok = rules.list.len() == 0
        self._set_aside(q.invalid_rows(raw, rules, self.run_id, self.table))
        valid = checked.with_columns(*raw.select(self.lineage).get_columns(), raw[RAW]).filter(ok).drop(RULES)
        # the raw line is kept for rows that may lose their key to a duplicate; others are read back if so
        contested = maybe_shared(valid, (self.table.key, *self.table.unique))
        self._stage(valid.with_columns(strip_terminators(pl.when(contested).then(pl.col(RAW))).alias(RAW)), name)

    def _stage(self, valid: pl.DataFrame, name: str) -> None:
        """Write valid rows aside, with their partition, until every new row has been read."""
        if valid.is_empty():
            return
        if self.row_wise:
            valid = self.derivation(valid, self.parents)
        self.staging.add(valid.with_columns(self._partition_of()), name)

    def _partition_of(self) -> pl.Expr:
        spec = self.table.partition
        if spec is None:
            return pl.lit(WHOLE).alias(PARTITION)
        return partition_names(pl.col(spec.source), spec.format).fill_null(pl.lit(spec.missing)).alias(PARTITION)

    # -- rows waiting for a parent -------------------------------------------------------------------------------

    def _recheck_orphans(self) -> None:
        """Validate again the rows quarantined for a missing parent; stage those that now pass."""
        for part in sorted((self.previous_dir / QUARANTINE).glob("*.parquet")):
            # the rows of files read again are validated with them
            waiting = pl.read_parquet(part).filter(q.waiting_for_parent() & ~pl.col(q.FILE).is_in(list(self.redo)))
            if waiting.is_empty():
                continue
            checked = validate(waiting.with_columns(q.structure_error()), self.table, self.parents)
            rules = checked.get_column(RULES)
            ok = rules.list.len() == 0
            self._set_aside(waiting.filter(~ok).with_columns(rules.filter(~ok).alias("failed_rules")))
            self.released[part.name].append(waiting.filter(ok).select(self.lineage))
            valid = (
                checked.filter(ok)
                .drop(RULES)
                .with_columns(*waiting.filter(ok).select(*self.lineage, RAW).get_columns())
            )
            self._stage(valid, f"released-{part.stem}")

    # -- quarantine and accounting -------------------------------------------------------------------------------

    def _write_quarantine(self) -> None:
        """One file per bronze file (or group) with set-aside rows; files this run did not change are hard-linked.
        The files read again have their rows set aside afresh."""
        previous = self.previous_dir / QUARANTINE if self.previous_dir else None
        current = {p.name: p for p in previous.glob("*.parquet") if p.name != q.EMPTY_PART} if previous else {}
        q.write_version(
            self.version_dir / QUARANTINE, self.table, current, self.set_aside, self.released, self.redo, self.threads
        )

"""Bring one silver table up to date with its bronze files, incrementally and atomically.

A silver table is a function of the set of its bronze rows and its parents' keys, whatever order the files
arrived in:
- each row is validated against the contract; a row breaking any rule is quarantined with all its rules;
- among valid rows, the one earliest in (source file, line) order wins its key; the others are duplicates;
- rows quarantined for a missing parent are validated again whenever a parent table changes.
A run reads only files it has not seen, rewrites only the partitions they touch (hard-linking the rest; where no
new row shares a key with a partition's rows, it only adds a file of them to it) and publishes the new version in
one atomic step, after checking that every bronze row is accounted for. Files and partitions are processed side
by side in threads: polars and numpy release the GIL. Small files are read in batches and small partitions merged
in groups, so that a year of daily files costs about what its rows cost.
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
from core.store import DATA, QUARANTINE, ZSTD_LEVEL, TableStore, link_files
from silver import merging
from silver import quarantine as q
from silver.keys import earliest, repeated_across, sharing_neighbours, without_losers
from silver.result import Derivation, SilverResult
from silver.rules import RULES, validate
from silver.staging import PARTITION, Staging

WHOLE = ""  # the single partition of an unpartitioned table
APPENDED_FILES = 16  # a partition with this many files is merged whole (into one) rather than appended to
SET_ASIDE = "_set_aside"  # quarantine rows written aside during the run, before the quarantine is rebuilt
Progress = Callable[..., Iterable]


class SilverJob:
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
        # the raw line is kept for rows that may lose their key to a duplicate; others are read back if so
        contested = pl.any_horizontal(pl.struct(list(k)).is_duplicated() for k in (self.table.key, *self.table.unique))
        valid = (
            checked.with_columns(*raw.select(self.lineage).get_columns(), raw[RAW])
            .filter(ok)
            .drop(RULES)
            .with_columns(strip_terminators(pl.when(contested).then(pl.col(RAW))).alias(RAW))  # few are kept
        )
        self._stage(valid, name)

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
        return pl.col(spec.source).dt.strftime(spec.format).fill_null(pl.lit(spec.missing)).alias(PARTITION)

    # -- rows waiting for a parent -------------------------------------------------------------------------------

    def _recheck_orphans(self) -> None:
        """Validate again the rows quarantined for a missing parent; stage those that now pass."""
        redone = {q.part_name(self.table, rel) for rel in self.redo}
        for part in sorted((self.previous_dir / QUARANTINE).glob("*.parquet")):
            if part.name in redone:  # its file is read again anyway
                continue
            waiting = pl.read_parquet(part).filter(q.waiting_for_parent())
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

    # -- partitions ----------------------------------------------------------------------------------------------

    def _merge_partitions(self) -> dict[str, dict[str, Any]]:
        """Merge staged rows into their partitions; returns every partition of the version with its row count and
        the version that last wrote it (gold rebuilds only partitions whose version changed)."""
        existing = dict(self.previous["partitions"]) if self.previous else {}
        if self.redo:
            existing.pop(self.reprocess, None)  # rebuilt from its files alone
        if self.table.partition and existing.get(WHOLE, {}).get("rows") == 0:
            existing.pop(WHOLE)  # the empty placeholder written before the first row arrived
        for partition in existing.keys() - self.staging.partitions:
            link_files(
                self._partition_dir(self.previous_dir, partition), self._partition_dir(self.version_dir, partition)
            )
        partitions = {p: facts for p, facts in existing.items() if p not in self.staging.partitions}
        grown = sorted(self.staging.partitions & existing.keys())
        grown_rows = self._in_threads(
            lambda p: self._append(p, existing[p]["rows"]), grown, f"append {self.table.name}", "partition"
        )
        appended = {p: rows for p, rows in zip(grown, grown_rows) if rows is not None}
        partitions |= {p: {"rows": rows, "version": self.run_id} for p, rows in appended.items()}
        sizes = {
            p: existing.get(p, {}).get("rows", 0) + self.staging.rows_of(p)
            for p in self.staging.partitions - appended.keys()
        }
        # Partitions beyond one bucket are merged one at a time, so memory stays within about two buckets.
        large = any(size > merging.BUCKET_ROWS for size in sizes.values())
        merged = self._in_threads(
            lambda unit: self._merge(unit, existing, sizes),
            merging.groups(sizes, self.threads),
            f"merge {self.table.name}",
            "group",
            threads=1 if large else None,
        )
        partitions |= {p: {"rows": rows, "version": self.run_id} for unit in merged for p, rows in unit.items()}
        if not partitions:  # an empty table still has its schema
            partitions[WHOLE] = {
                "rows": self._write_part(WHOLE, 0, pl.DataFrame(schema=self._silver_schema())),
                "version": self.run_id,
            }
        return dict(sorted(partitions.items()))

    def _append(self, partition: str, rows_before: int) -> int | None:
        """A partition's new rows written beside its current files (linked), when none of them shares a key with a
        current row: a refresh then writes the minutes that arrived, not their day again. Returns the partition's
        rows; None when it must be merged whole instead: a key is shared (the earliest row must win it), the table
        derives columns over whole partitions, or the partition has APPENDED_FILES files already (merging them
        into one again keeps readers from opening ever more small files)."""
        current = self._partition_dir(self.previous_dir, partition)
        files = sorted(current.glob("*.parquet"))
        if (self.derivation and not self.row_wise) or len(files) >= APPENDED_FILES:
            return None
        staged = self.staging.rows([partition]).select(*self.stored, *self.lineage, RAW, PARTITION).collect()
        held = pl.scan_parquet(files)
        for unique in (self.table.key, *self.table.unique):
            shared = held.select(unique).join(
                staged.lazy().select(unique), on=list(unique), how="semi", nulls_equal=True
            )
            if not shared.head(1).collect().is_empty():
                return None
        link_files(current, self._partition_dir(self.version_dir, partition))
        return rows_before + self._write(self.run_id, self._settle(staged, several=False)).get(partition, 0)

    def _merge(self, unit: list[str], existing: Mapping[str, Any], sizes: Mapping[str, int]) -> dict[str, int]:
        """Current rows of some partitions plus their staged rows: deduplicated, derived and written, bucket by
        bucket; returns the rows of each partition.

        A partition larger than a bucket is merged alone, as buckets: ranges of the key's first column holding
        about BUCKET_ROWS rows, each written as its own file (`part-<n>.parquet`, sorted by key); current and
        staged files are sorted by that column, so reading a bucket skips the row groups outside it, and memory
        stays bounded however large the partition grows.
        """
        sources = [self.staging.rows(unit)]
        for partition in (p for p in unit if p in existing):
            current = pl.scan_parquet(self._partition_dir(self.previous_dir, partition) / "*.parquet")
            sources.append(current.with_columns(pl.lit(None, pl.String).alias(RAW), pl.lit(partition).alias(PARTITION)))
        rows = pl.concat(
            [s.select(*self.stored, *self.lineage, RAW, PARTITION) for s in sources], how="vertical_relaxed"
        )
        if len(unit) > 1 or sizes[unit[0]] <= merging.BUCKET_ROWS:
            return self._write(0, self._settle(rows.collect(), several=len(unit) > 1))
        leading = pl.col(self.table.key[0])

        def settle(number: int, low: object, high: object) -> int:
            bucket = rows.filter(leading.is_between(pl.lit(low), pl.lit(high)))
            return self._write(number, self._settle(bucket.collect(), several=False))[unit[0]]

        ranges = merging.bucket_ranges(rows, self.table.key[0])
        with ThreadPoolExecutor(self.threads) as pool:
            return {unit[0]: sum(pool.map(settle, range(len(ranges)), *zip(*ranges)))}

    def _write(self, number: int | str, silver: pl.DataFrame) -> dict[str, int]:
        """Write settled rows as file `part-<number>` of their partitions; returns the rows of each."""
        parts = silver.partition_by(PARTITION, as_dict=True, include_key=False)
        return {partition: self._write_part(partition, number, rows) for (partition,), rows in parts.items()}

    def _write_part(self, partition: str, number: int | str, rows: pl.DataFrame) -> int:
        """Write one file of a partition. Hive-style, a partition's column is in its folder name only (the empty
        table's single file, in no folder, keeps it)."""
        directory = self._partition_dir(self.version_dir, partition)
        directory.mkdir(parents=True, exist_ok=True)
        if partition != WHOLE:
            rows = rows.drop(self.table.partition.column)
        rows.write_parquet(
            directory / f"part-{number}.parquet", compression="zstd", compression_level=ZSTD_LEVEL, statistics=True
        )
        return len(rows)

    def _settle(self, rows: pl.DataFrame, several: bool) -> pl.DataFrame:
        """Keep the earliest row of each key (and alternate key) in each partition, setting the others aside, and
        derive the columns computed over a whole partition; the rows keep their partition. The partition joins the
        key only when `several` partitions are settled together (it costs a string in every hash and sort)."""
        within = [PARTITION] if several else []
        rows = rows.sort([*within, *self.table.key])  # a key's rows are neighbours, and stay sorted below
        for unique in (self.table.key, *self.table.unique):  # the key, then the alternate keys
            key = [*within, *unique]
            if unique == self.table.key:
                contested = sharing_neighbours(rows, key)
            else:
                contested = rows.select(pl.struct(key).is_duplicated()).to_series()
            if contested.any():
                rows, winners, losers = without_losers(rows, contested, key, self.lineage)
                self._set_aside(self._duplicates(losers, winners, key))
        silver = rows.drop(RAW)
        if self.derivation and not self.row_wise:  # it looks at whole partitions
            parts = silver.partition_by(PARTITION, maintain_order=True) if several else [silver]
            silver = pl.concat([self.derivation(part, self.parents) for part in parts])
        if self.table.partition:
            silver = silver.with_columns(pl.col(PARTITION).alias(self.table.partition.column))
        schema = self._silver_schema() | {PARTITION: pl.String()}
        return silver.select(pl.col(name).cast(dtype) for name, dtype in schema.items())

    def _unique_across_partitions(self, partitions: dict[str, dict[str, Any]]) -> None:
        """Where the key does not fix the partition (a trade's id, filed again in another month), a key may repeat
        across partitions: the earliest row (in file and line order) stays, each other is set aside as a duplicate
        and its partition rewritten without it. Only the keys are read to find them (10 M trade ids: about 2 s)."""
        key = list(self.table.key)
        scans = {p: pl.scan_parquet(self._partition_dir(self.version_dir, p) / "*.parquet") for p in partitions}
        rivals = repeated_across(scans, key, self.lineage, PARTITION)
        if rivals is None:
            return
        winners, losers = earliest(rivals, key, self.lineage)
        for (partition,), lost in losers.partition_by(PARTITION, as_dict=True).items():
            directory = self._partition_dir(self.version_dir, partition)
            files = sorted(directory.glob("*.parquet"))
            rows = pl.read_parquet(files)
            gone = rows.join(lost.select(self.lineage), on=self.lineage, how="semi", nulls_equal=True)
            self._set_aside(self._duplicates(gone.with_columns(pl.lit(None, pl.String).alias(RAW)), winners, key))
            for file in files:
                file.unlink()
            kept = rows.join(lost.select(self.lineage), on=self.lineage, how="anti", nulls_equal=True)
            kept.write_parquet(directory / "part-0.parquet", compression="zstd", compression_level=ZSTD_LEVEL)
            partitions[partition] = {"rows": len(kept), "version": self.run_id}

    def _duplicates(self, losers: pl.DataFrame, winners: pl.DataFrame, key: list[str]) -> pl.DataFrame:
        losers = losers.join(winners.select(*key, q.location(self.table).alias(q.DUPLICATE_OF)), on=key, how="left")
        return q.duplicate_rows(q.with_raw_lines(losers, self.lake.bronze, self.table), self.run_id, self.table)

    def _silver_schema(self) -> dict[str, pl.DataType]:
        return {c.name: c.type.polars for c in self.table.columns} | q.lineage_schema(self.table)

    def _partition_dir(self, version_dir: Path, partition: str) -> Path:
        if partition == WHOLE:
            return version_dir / DATA
        return version_dir / DATA / f"{self.table.partition.column}={partition}"

    # -- quarantine and accounting -------------------------------------------------------------------------------

    def _write_quarantine(self) -> None:
        """One file per bronze file with set-aside rows; files this run did not change are hard-linked."""
        previous = self.previous_dir / QUARANTINE if self.previous_dir else None
        current = {p.name: p for p in previous.glob("*.parquet") if p.name != q.EMPTY_PART} if previous else {}
        for rel in self.redo:  # read again: their rows are set aside afresh
            current.pop(q.part_name(self.table, rel), None)
        q.write_version(self.version_dir / QUARANTINE, self.table, current, self.set_aside, self.released, self.threads)

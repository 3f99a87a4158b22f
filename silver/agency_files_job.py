"""Bring `silver_ratings.agency_files` up to date: one row per file the ratings history ingested.

A file whose rows are all invalid, or that holds only its header, still replaces its agency's earlier load, so
which file is current is decided over files, not rows: this table lists them all from the history's own record
of its ingested files (name, size, hash, arrival time), whatever they held. It is small (a row per file) and
rebuilt whole, checked against its contract and published atomically like any table.
"""

from __future__ import annotations

import hashlib
import inspect
import time
from pathlib import Path

import duckdb
import polars as pl

import contracts
from contracts.schema import Table
from core.checks import check_key, check_rows
from core.duck import View, view_sql
from core.lake import Lake
from core.plan import plan
from core.store import DATA, ZSTD_LEVEL, TableStore
from silver import computed, ratings
from silver.result import SilverResult


class AgencyFilesJob:
    def __init__(self, lake: Lake, table: Table, run_id: str, full_refresh: bool = False):
        self.lake, self.table, self.run_id = lake, table, run_id
        self.store = TableStore(lake, table)
        self.previous = None if full_refresh else self.store.reusable_state()
        self.history = TableStore(lake, contracts.computed_from(table)[0])

    def run(self) -> SilverResult:
        started = time.monotonic()
        history = self.history.state()
        naming = hashlib.sha256(f"{inspect.getsource(ratings)}{self.table!r}".encode()).hexdigest()
        work = plan(self.table, {"naming": naming, "files": history["version"]}, {}, self.previous)
        if work is None:
            return SilverResult(self.table, "up_to_date", self.previous["version"], totals=self.previous["rows"])
        version_dir = self.store.new_version(self.run_id)
        # files listed before keep their rows (bronze is immutable): a new day costs its own files
        listed = self._listed() if self.previous and self.previous.get("naming") == naming else None
        known = set() if listed is None else set(listed.get_column("source_file").to_list())
        fresh = {rel: f for rel, f in history["files"].items() if rel not in known}
        files = self._files(fresh)
        if listed is not None:
            files = pl.concat([listed.filter(pl.col("source_file").is_in(list(history["files"]))), files])
        files = files.sort("source_file")
        files.write_parquet(version_dir / DATA / "part-0.parquet", compression="zstd", compression_level=ZSTD_LEVEL)
        self._check(version_dir)
        partitions = {"": {"rows": len(files), "version": self.run_id}}
        return computed.publish(
            self.store, version_dir, self.run_id, self.previous, work, partitions, started, naming=naming
        )

    def _listed(self) -> pl.DataFrame:
        """The rows of the current version, by file."""
        return pl.read_parquet(self.store.current_dir() / DATA / "*.parquet")

    def _files(self, ingested: dict[str, dict]) -> pl.DataFrame:
        """A row per ingested file, in the contract's columns, sorted by file."""
        facts = pl.DataFrame(
            [
                {
                    "source_file": rel,
                    "arrived_ns": f["mtime_ns"],
                    "lines": f["rows"],
                    "bytes": f["bytes"],
                    "sha256": f["sha256"] or None,
                    "header_ok": f["header_ok"],
                }
                for rel, f in ingested.items()
            ],
            schema={"source_file": pl.String, "arrived_ns": pl.Int64, "lines": pl.Int64, "bytes": pl.Int64,
                    "sha256": pl.String, "header_ok": pl.Boolean},
        )  # fmt: skip
        names = ratings.file_names(facts.get_column("source_file")).rename({ratings.FILE: "source_file"})
        return (
            facts.join(names, on="source_file", how="left")
            .with_columns(
                (pl.lit(ratings.TABLE_PREFIX) + pl.col("agency_id")).alias("agency_table"),
                pl.from_epoch("arrived_ns", time_unit="ns").alias("arrived_at"),
            )
            .select(pl.col(c.name).cast(c.type.polars) for c in self.table.columns)
        )

    def _check(self, version_dir: Path) -> None:
        con = duckdb.connect()
        try:
            for statement in view_sql(View.of(self.table, version_dir / DATA)):
                con.execute(statement)
            failures = check_rows(con, self.table) + check_key(con, self.table)
        finally:
            con.close()
        computed.refuse(self.store, failures)

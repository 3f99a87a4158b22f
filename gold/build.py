"""Materialise gold models with DuckDB: build aside, check against the contract, publish atomically.

A model is up to date while its fingerprint holds: its SQL, contract, the shared macros and the versions of the
tables it reads. A partitioned model (e.g. fact_readings by month) reading an input partitioned the same way
tracks that input partition by partition: when only some partitions of it changed, only those partitions are
rebuilt and checked, and the others are hard-linked from the previous version, so a run's cost follows the new
data rather than the history.
"""

from __future__ import annotations

import shutil
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import duckdb

import contracts
from contracts.schema import Table
from core.checks import check_audits, check_key, check_rows
from core.duck import QUARANTINE_SCHEMA, View, connect, empty_view_sql, scalar, view_sql
from core.errors import CheckFailedError, LakehouseError
from core.lake import Lake
from core.plan import Plan, plan
from core.store import DATA, ZSTD_LEVEL, TableStore, link_files
from gold.models import Model, macros_sql

LOOKUP_ROW_GROUP = 16_384


@dataclass
class GoldResult:
    model: str
    status: str  # "built", "up_to_date" or "failed"
    version: str | None
    rows: int | None = None
    seconds: float = 0.0
    message: str | None = None
    partitions_rebuilt: int | None = None  # partitions this build wrote (the others were linked)
    rows_written: int | None = None  # rows in them


class GoldBuilder:
    def __init__(self, lake: Lake, run_id: str, threads: int | None = None, memory_limit: str | None = None):
        self.lake, self.run_id = lake, run_id
        self.con = connect(lake, threads, memory_limit, split_views=False)
        for table in contracts.tables():  # macros bind the tables they read: unbuilt ones read as empty
            if TableStore(lake, table).state() is None:
                for statement in empty_view_sql(table):
                    self.con.execute(statement)
        self.con.execute(macros_sql())

    def close(self) -> None:
        self.con.close()

    def build(self, model: Model, force: bool = False) -> GoldResult:
        started = time.monotonic()
        store = TableStore(self.lake, model.table)
        previous = store.reusable_state()
        plan = self._plan(model, previous, force)
        if plan is None:
            return GoldResult(model.name, "up_to_date", previous["version"], previous.get("rows"))
        version_dir = store.new_version(self.run_id)
        # where the rebuild starts (null: everything); a model carrying state reads the rest from its published
        # version, or from the empty view that stands for it before its first build
        self.con.execute("set variable rebuild_from = ?", [min(plan.rebuild) if plan.rebuild else None])
        try:
            partitions = self._materialise(model, version_dir, previous, plan.rebuild)
            failures = self._check(model, version_dir, plan.rebuild)
        except duckdb.Error as error:
            self._discard(model, version_dir, previous)
            raise CheckFailedError(f"{model.name} failed to build: {str(error).splitlines()[0]}") from None
        if failures:
            self._discard(model, version_dir, previous)
            found = "; ".join(f"{f.check} ({f.offending})" for f in failures)
            raise CheckFailedError(
                f"{model.name} failed its checks: {found}; the previous version stays published, the models that do "
                f"not read it are built, and the next run tries it again. The rows come from {', '.join(model.reads)}: "
                "find them with `lakehouse sql`, then fix their bronze (a corrected file is read again by `lakehouse "
                f"run --domain {model.table.domain} --date DAY` in a day folder, else with --full-refresh)"
            )
        rows = sum(p["rows"] for p in partitions.values())
        seconds = round(time.monotonic() - started, 3)
        store.publish(
            version_dir,
            {
                "run_id": self.run_id,
                "previous_version": previous["version"] if previous else None,
                "fingerprint": plan.fingerprint,
                "input_partitions": plan.input_partitions,
                "partitions": partitions,
                "rows": rows,
                "seconds": seconds,
            },
        )
        self._bind(model, self.lake.table_path(model.table))
        fresh = [p for p in partitions.values() if p["version"] == self.run_id]
        return GoldResult(
            model.name, "built", self.run_id, rows, seconds, None, len(fresh), sum(p["rows"] for p in fresh)
        )

    # -- what to build -------------------------------------------------------------------------------------------

    def _plan(self, model: Model, previous: dict | None, force: bool) -> Plan | None:
        """None when up to date; otherwise the whole table or the partitions whose inputs changed."""
        missing = [name for name in model.depends_on if _state_of(self.lake, name) is None]
        if missing:
            raise LakehouseError(
                f"{model.name} reads {', '.join(missing)}, which has not been built yet; "
                f"build it first (lakehouse run --select +{model.table.name})"
            )
        # Only what the SQL reads is data; dimensions named by foreign keys are only checked against, and keys
        # never leave the lake (silver keeps every key it loaded), so partitions built before stay valid.
        inputs = {name: _state_of(self.lake, name) for name in model.reads}
        tracked = {name: state for name, state in inputs.items() if _partitioned_alike(model.table, name)}
        identity = {
            "sql": model.sql,
            "contract": repr(model.table),
            "macros": macros_sql(model.table.domain),
            "inputs": {name: inputs[name]["version"] for name in sorted(inputs.keys() - tracked.keys())},
        }
        return plan(model.table, identity, tracked, previous, force)

    # -- building ------------------------------------------------------------------------------------------------

    def _materialise(
        self, model: Model, version_dir: Path, previous: dict | None, rebuild: set[str] | None
    ) -> dict[str, dict]:
        """Write the version; returns its partitions with their rows and the version that wrote each."""
        table = model.table
        query = f"select * from (\n{model.sql.strip().rstrip(';')}\n)"
        target = version_dir / DATA
        if not table.partition:  # small tables are ordered by key; large ones keep their input's order
            self.con.execute(
                f"copy ({query} order by {', '.join(table.sorted_by or table.key)}) to '{target / 'part-0.parquet'}' "
                f"(format parquet, compression zstd, compression_level {ZSTD_LEVEL}{_row_groups(table)})"
            )
            return {
                "": {
                    "rows": scalar(self.con, f"select count(*) from read_parquet('{target}/*.parquet')"),
                    "version": self.run_id,
                }
            }
        column = table.partition.column
        kept = {}
        if rebuild is not None:
            old = self.lake.versions_dir(table) / previous["version"] / DATA
            for partition, facts in previous["partitions"].items():
                if partition not in rebuild and partition:
                    link_files(old / f"{column}={partition}", target / f"{column}={partition}")
                    kept[partition] = facts
            query += f" where {column} in ({', '.join(_quoted(p) for p in sorted(rebuild)) or 'null'})"
        fresh = version_dir / "_fresh"
        order = f", order_by ({', '.join(table.sorted_by)})" if table.sorted_by else ""
        files = self.con.sql(
            f"copy ({query}) to '{fresh}' (format parquet, compression zstd, compression_level {ZSTD_LEVEL}, "
            f"partition_by ({column}){order}{_row_groups(table)}, return_stats)"
        ).fetchall()
        rows = defaultdict(int)
        for filename, count, *_ in files:
            rows[Path(filename).parent.name] += count
        written = {}
        for name in sorted(rows):
            (fresh / name).rename(target / name)
            written[name.split("=", 1)[1]] = {"rows": rows[name], "version": self.run_id}
        shutil.rmtree(fresh, ignore_errors=True)
        if not kept and not written:  # no rows: keep the table readable, empty
            self.con.execute(f"copy ({query} limit 0) to '{target / 'part-0.parquet'}' (format parquet)")
            return {"": {"rows": 0, "version": self.run_id}}
        return dict(sorted((kept | written).items()))

    def _check(self, model: Model, version_dir: Path, rebuild: set[str] | None) -> list:
        """Row checks on what was built (just the rebuilt partitions), the key's uniqueness (on those too when
        the key fixes the partition), then audits on the whole new version."""
        data = version_dir / DATA
        spec = model.table.partition
        failures = []
        if rebuild is not None:
            paths = [data / f"{spec.column}={p}" for p in sorted(rebuild) if (data / f"{spec.column}={p}").is_dir()]
            if paths:
                self._bind(model, paths)
                failures += check_rows(self.con, model.table)
                if spec.source in model.table.key:
                    failures += check_key(self.con, model.table)
            self._bind(model, data)
            if spec.source not in model.table.key:
                failures += check_key(self.con, model.table)
        else:
            self._bind(model, data)
            failures += check_rows(self.con, model.table) + check_key(self.con, model.table)
        return failures + check_audits(self.con, model.table)

    def _discard(self, model: Model, version_dir: Path, previous: dict | None) -> None:
        shutil.rmtree(version_dir, ignore_errors=True)
        self._bind(model, self.lake.table_path(model.table) if previous else None)

    def _bind(self, model: Model, path: Path | list[Path] | None) -> None:
        """Point the model's catalog name at `path` (a candidate version, some of its partitions, the published
        version, or nothing)."""
        if path is None:
            self.con.execute(f"drop view if exists {model.name}")
            return
        for statement in view_sql(View.of(model.table, path)):
            self.con.execute(statement)


def _partitioned_alike(table: Table, input_name: str) -> bool:
    """Whether `input_name` is partitioned by the same column as the partitioned model `table`."""
    if table.partition is None or input_name.startswith(QUARANTINE_SCHEMA):
        return False
    other = _contract(input_name)
    return other.partition is not None and other.partition.column == table.partition.column


def _contract(qualified_name: str) -> Table:
    """The contract of a table a model reads; a silver table's quarantine (`quarantine_<domain>.<table>`, published
    with it) stands for the table."""
    schema, name = qualified_name.split(".")
    if schema.startswith(QUARANTINE_SCHEMA):
        qualified_name = f"silver_{schema.removeprefix(QUARANTINE_SCHEMA)}.{name}"
    try:
        return contracts.by_name(qualified_name)
    except KeyError:
        raise LakehouseError(f"a gold model reads {qualified_name}, which no contract declares") from None


def _state_of(lake: Lake, qualified_name: str) -> dict | None:
    return TableStore(lake, _contract(qualified_name)).state()


def _row_groups(table: Table) -> str:
    """Small row groups for a table sorted for lookups: a lookup decodes one group, not DuckDB's default 122,880
    rows."""
    return f", row_group_size {LOOKUP_ROW_GROUP}" if table.sorted_by else ""


def _quoted(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"

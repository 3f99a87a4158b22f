"""Materialise gold models: build aside, check against the contract, publish atomically.

An engine writes a model's rows (DuckDB, or Spark where a lake outgrows one machine); what makes them a version is
the same whichever wrote them: DuckDB checks them against the contract before they are published, and every engine
then sees the published version.

A model is up to date while its fingerprint holds: its SQL, contract, the shared macros and the versions of the
tables it reads. A partitioned model (e.g. fact_readings by month) reading an input partitioned the same way
tracks that input partition by partition: when only some partitions of it changed, only those partitions are
rebuilt and checked, and the others are hard-linked from the previous version, so a run's cost follows the new
data rather than the history.
"""

from __future__ import annotations

import shutil
import threading
import time
from concurrent.futures import Future
from pathlib import Path
from typing import Protocol

import duckdb

import contracts
from contracts.schema import Table
from core.checks import check_audits, check_key, check_rows
from core.duck import QUARANTINE_SCHEMA
from core.errors import CheckFailedError, LakehouseError
from core.lake import Lake
from core.plan import Plan, plan
from core.store import DATA, TableStore, link_files
from engines.duckdb_engine import DuckDBEngine
from gold.models import Model, macros_sql
from gold.result import GoldResult


class Engine(Protocol):
    """What builds a model's rows (engines/): DuckDB's or Spark's."""

    name: str
    errors: tuple[type[Exception], ...]  # what it raises when a model cannot be built

    def write(self, model: Model, directory: Path, rebuild: set[str] | None) -> dict[str, int]:
        """Write the model's rows into the empty `directory` (one file, or Hive folders of the partitions in
        `rebuild` when given; an empty result is one empty file); returns the rows per folder ('' for one file)."""

    def published(self, table: Table) -> None:
        """See the table's newly published version from now on."""

    def close(self) -> None: ...


class GoldBuilder:
    def __init__(
        self,
        lake: Lake,
        run_id: str,
        threads: int | None = None,
        memory_limit: str | None = None,
        engine: Engine | None = None,
        domain: str | None = None,
        started: Future[DuckDBEngine] | None = None,
    ):
        """`engine`: what builds the models (default: DuckDB, which checks what either writes). Engines start at the
        first model to build: a run with nothing to build opens no connection, unless its DuckDB was `started`
        beforehand (while silver ran). `domain`: the only one whose models it builds, if given."""
        self.lake, self.run_id = lake, run_id
        self.threads, self.memory_limit, self.other, self.domain = threads, memory_limit, engine, domain
        self.started = started
        self._duckdb: DuckDBEngine | None = None
        self._starting = threading.Lock()  # models built side by side start one engine

    @property
    def duckdb(self) -> DuckDBEngine:
        with self._starting:
            if self._duckdb is None:
                self._duckdb = self._started() or start_duckdb(self.lake, self.domain, self.threads, self.memory_limit)
        return self._duckdb

    def _started(self) -> DuckDBEngine | None:
        """The engine started beforehand, its views brought up to date; None if there is none, or if it failed to
        start because a table changed its folders under it (silver publishing as it bound the views)."""
        if self.started is None or self.started.exception() is not None:
            return None
        engine = self.started.result()
        try:
            engine.refresh()
        except duckdb.Error:
            engine.close()
            return None
        return engine

    @property
    def engine(self) -> Engine:
        return self.other or self.duckdb

    def _engines(self) -> list[Engine]:
        """The engines in use (the other one starts its own session when first asked to write)."""
        return [e for e in (self._duckdb, self.other) if e is not None]

    def close(self) -> None:
        """Close DuckDB's connection; the other engine is its creator's to close (domains' builders share it)."""
        if self._duckdb is not None:
            self._duckdb.close()

    def build(self, model: Model, force: bool = False) -> GoldResult:
        started = time.monotonic()
        store = TableStore(self.lake, model.table)
        previous = store.reusable_state()
        plan = self._plan(model, previous, force)
        if plan is None:
            return GoldResult(model.name, "up_to_date", previous["version"], previous.get("rows"))
        engine = self.engine
        version_dir = store.new_version(self.run_id)
        try:
            partitions = self._materialise(engine, model, version_dir, previous, plan.rebuild)
            failures = self._check(model, version_dir, plan.rebuild)
        except (duckdb.Error, *engine.errors) as error:
            self._discard(model, version_dir, previous)
            raise CheckFailedError(f"{model.name} failed to build: {str(error).strip().splitlines()[0]}") from None
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
                "engine": engine.name,
            },
        )
        for each in self._engines():
            each.published(model.table)
        fresh = [p for p in partitions.values() if p["version"] == self.run_id]
        return GoldResult(
            model.name, "built", self.run_id, rows, seconds, None, len(fresh), sum(p["rows"] for p in fresh),
            engine.name,
        )  # fmt: skip

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
        self, engine: Engine, model: Model, version_dir: Path, previous: dict | None, rebuild: set[str] | None
    ) -> dict[str, dict]:
        """Write the version (kept partitions linked from the previous one, the others written by `engine`); returns
        its partitions with their rows and the version that wrote each."""
        table = model.table
        target = version_dir / DATA
        if not table.partition:
            return {"": {"rows": engine.write(model, target, None)[""], "version": self.run_id}}
        column = table.partition.column
        kept = {}
        if rebuild is not None:
            old = self.lake.versions_dir(table) / previous["version"] / DATA
            for partition, facts in previous["partitions"].items():
                if partition not in rebuild and partition:
                    link_files(old / f"{column}={partition}", target / f"{column}={partition}")
                    kept[partition] = facts
        fresh = version_dir / "_fresh"
        rows = engine.write(model, fresh, rebuild)
        if set(rows) == {""} and not kept:  # no rows at all: the engine's empty file keeps the table readable
            for file in fresh.iterdir():
                file.rename(target / file.name)
        written = {}
        for name in sorted(name for name in rows if name):
            (fresh / name).rename(target / name)
            written[name.split("=", 1)[1]] = {"rows": rows[name], "version": self.run_id}
        shutil.rmtree(fresh, ignore_errors=True)
        return dict(sorted((kept | written).items())) or {"": {"rows": 0, "version": self.run_id}}

    def _check(self, model: Model, version_dir: Path, rebuild: set[str] | None) -> list:
        """Row checks on what was built (just the rebuilt partitions), the key's uniqueness (on those too when
        the key fixes the partition), then audits on the whole new version."""
        data = version_dir / DATA
        spec = model.table.partition
        failures = []
        if rebuild is not None:
            paths = [data / f"{spec.column}={p}" for p in sorted(rebuild) if (data / f"{spec.column}={p}").is_dir()]
            if paths:
                self.duckdb.bind(model.table, paths)
                failures += check_rows(self.duckdb.con, model.table)
                if spec.source in model.table.key:
                    failures += check_key(self.duckdb.con, model.table)
            self.duckdb.bind(model.table, data)
            if spec.source not in model.table.key:
                failures += check_key(self.duckdb.con, model.table, rebuilt=rebuild)
        else:
            self.duckdb.bind(model.table, data)
            failures += check_rows(self.duckdb.con, model.table) + check_key(self.duckdb.con, model.table)
        return failures + check_audits(self.duckdb.con, model.table)

    def _discard(self, model: Model, version_dir: Path, previous: dict | None) -> None:
        shutil.rmtree(version_dir, ignore_errors=True)
        self.duckdb.bind(model.table, self.lake.table_path(model.table) if previous else None)


def start_duckdb(lake: Lake, domain: str | None, threads: int | None, memory_limit: str | None) -> DuckDBEngine:
    """The DuckDB engine of a domain's models (of every domain's, without one), with its views and macros."""
    return DuckDBEngine(lake, macros_sql(domain), threads, memory_limit, domain)


def other_domains_read(model: Model) -> list[str]:
    """The tables of other domains a model reads or references: none may (domains are built side by side)."""
    return [name for name in model.depends_on if _contract(name).domain != model.table.domain]


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

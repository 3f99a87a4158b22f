"""`lakehouse export postgres`: gold tables published into PostgreSQL, each domain whole or not at all.

The lake stays the source of truth; the database is a replica. This module plans: which tables (and partitions)
the database lacks, and in what mode each is published. A domain's changed tables are built aside as `<table>__new`
from their contracts (pipelines/pg_types.py) and shapes (pipelines/pg_shapes.py), bulk-loaded from DuckDB's Arrow
stream by the ADBC driver, keyed, indexed and analysed (pipelines/pg_load.py); then one transaction under a lock
timeout publishes them (pipelines/pg_swap.py): a reader
sees the old tables or the new ones, never an error or half a table. A partitioned table has only its changed
partitions replaced. `lakehouse_export` records the lake version of each table (and partition) the database holds,
so an export with nothing new changes nothing; a killed export leaves `__new` relations, which the next one drops.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import contracts
from contracts.schema import Table
from core import faults
from core.duck import connect
from core.errors import LakehouseError
from core.lake import Lake
from core.store import TableStore
from gold.models import models
from pipelines.pg_load import Job, Loader
from pipelines.pg_shapes import partitioning, shape_of
from pipelines.pg_swap import LOCK_TIMEOUT, Swap
from pipelines.pg_types import identifier

_VERSIONS = """create table if not exists public.lakehouse_export (
    schema_name text not null, table_name text not null, lake_version text not null, shape text not null,
    partitions text not null, rows bigint not null, exported_at timestamptz not null default now(),
    primary key (schema_name, table_name))"""
_LOCK = "select pg_try_advisory_lock(hashtext('lakehouse export'))"
_DEPENDED_ON = """
select exists (select from pg_constraint
               where contype = 'f' and confrelid = to_regclass($1) and conrelid <> confrelid)
    or exists (select from pg_depend d join pg_rewrite r on r.oid = d.objid
               where d.classid = 'pg_rewrite'::regclass and d.refobjid = to_regclass($1)
                 and r.ev_class <> d.refobjid)"""


@dataclass
class Exported:
    table: str  # schema.table in PostgreSQL
    status: str  # "exported", "refreshed" or "up_to_date"
    rows: int
    seconds: float = 0.0
    partitions: int = 0  # of a partitioned table, those replaced
    load_seconds: float = 0.0  # of `seconds`, loading the rows and building the primary key: what a COPY into
    # a keyed table does; the rest is the foreign keys' validation, the other indexes and the statistics


def export(
    lake: Lake, dsn: str, domains: Sequence[str], select: Sequence[str] = (), schema_prefix: str = ""
) -> list[Exported]:
    """Export the published gold tables of `domains` (or the `select`ed ones) into the database at `dsn`."""
    known = {t.name for t in contracts.tables("gold") if t.domain in domains}
    unknown = [name for name in select if name not in known]
    if unknown:
        raise LakehouseError(
            f"--select {unknown[0]}: no such gold table in {', '.join(domains)}; see `lakehouse models`"
        )
    if not any(TableStore(lake, t).state() for t in contracts.tables("gold") if t.domain in domains):
        raise LakehouseError(f"no gold table of {', '.join(domains)} is built yet: run `lakehouse run` first")
    db = _connect(dsn)
    duck = connect(lake, split_views=False)
    try:
        with db.cursor() as cursor:
            # no statement of the export queues behind a reader for long: it fails, and leaves everything as it was
            cursor.execute(f"set lock_timeout = '{LOCK_TIMEOUT}'")
            cursor.execute(_VERSIONS)
            cursor.execute(_LOCK)
            if not cursor.fetchall()[0][0]:
                raise LakehouseError("another export into this database is running; run this one when it has ended")
            db.commit()
            results = []
            for domain in domains:
                tables = [t for t in contracts.tables("gold", domain) if TableStore(lake, t).state()]
                exporter = _DomainExport(lake, dsn, db, cursor, duck, schema_prefix, domain)
                try:
                    results += exporter.run(_with_parents(tables, select) if select else tables)
                except db.Error as error:  # the driver's message, on one line
                    reason = " ".join(str(error).split())
                    raise LakehouseError(
                        f"the export of {domain} failed, and its published tables are as they were: {reason}; "
                        "run the export again (it removes what this one left)"
                    ) from None
            return results
    finally:
        duck.close()
        db.close()  # also releases the advisory lock


def _connect(dsn: str) -> Any:
    try:
        import adbc_driver_postgresql.dbapi as postgresql
    except ImportError:
        raise LakehouseError(
            "the PostgreSQL export needs its optional dependencies: pip install -e '.[postgres]'"
        ) from None
    try:
        return postgresql.connect(dsn)
    except Exception as error:  # libpq's message names no password; trimmed to one line
        reason = " ".join(str(error).split())
        raise LakehouseError(f"cannot connect to PostgreSQL: {reason}") from None


def _with_parents(tables: list[Table], select: Sequence[str]) -> list[Table]:
    """The selected tables and what they need in the database: the tables their foreign keys point to and, for a
    materialized view, the tables it reads (each still exported only when the database lacks its lake version)."""
    by_name = {t.name: t for t in tables}
    wanted = [name for name in select if name in by_name]
    chosen: set[str] = set()
    while wanted:
        name = wanted.pop()
        if name not in chosen:
            chosen.add(name)
            table = by_name[name]
            wanted += [fk.table for fk in table.foreign_keys]
            wanted += _reads(table)
    return [t for t in tables if t.name in chosen]


class _DomainExport:
    def __init__(self, lake: Lake, dsn: str, db: Any, cursor: Any, duck: Any, prefix: str, domain: str):
        self.lake, self.dsn, self.db, self.cursor, self.duck, self.prefix = lake, dsn, db, cursor, duck, prefix
        self.schema = prefix + contracts.tables("gold", domain)[0].schema  # a domain's gold is one schema

    def run(self, tables: list[Table]) -> list[Exported]:
        jobs = [job for job in (self._plan(t) for t in _parents_first(tables)) if job]
        done = [Exported(self._qualified(t), "up_to_date", TableStore(self.lake, t).state().get("rows") or 0)
                for t in tables if t.name not in {j.name for j in jobs}]  # fmt: skip
        if not jobs:
            return done
        modes = {j.name: j.mode for j in jobs}
        for job in jobs:  # a view reading a table swapped whole goes with the old table: it is created again
            if job.mode == "refresh" and any(modes[read] == "swap" for read in _reads(job.table) if read in modes):
                job.mode = modes[job.name] = "swap"
        self.cursor.execute(f"create schema if not exists {identifier(self.schema)}")
        _drop_leftovers(self.cursor, self.schema)
        self.db.commit()
        loader = Loader(self.lake, lambda: _connect(self.dsn), self.db, self.cursor, self.duck, self.schema)
        for job in jobs:
            if job.mode != "refresh":
                loader.load(job, modes)
                faults.point("export_loaded", job.table)
        views = [self._view_sql(job) for job in jobs if shape_of(job.table).materialized_view and job.mode == "swap"]
        Swap(self.cursor, self.schema).run(self.db, jobs, views)
        self._record(jobs)
        for job in jobs:
            faults.point("export_swapped", job.table)
        self.db.commit()
        for job in jobs:
            if job.mode == "refresh":
                self.cursor.execute(f"refresh materialized view concurrently {self._target(job.name)}")
                self._record([job])
                self.db.commit()
        return done + [self._result(job) for job in jobs]

    # -- what to do ----------------------------------------------------------------------------------------------

    def _plan(self, table: Table) -> Job | None:
        state = TableStore(self.lake, table).state()
        schema = self.prefix + table.schema
        held = self._held(schema, table.name)
        fingerprint = self._fingerprint(table)
        partitions = {p: facts["version"] for p, facts in state.get("partitions", {}).items() if p}
        job = Job(table, schema, "swap", state["version"], fingerprint, partitions if partitioning(table) else {})
        if held is None or held["shape"] != fingerprint or not self._exists(schema, table.name):
            return job
        if held["version"] == state["version"]:
            return None
        if shape_of(table).materialized_view:
            job.mode = "refresh"
        elif partitioning(table):
            job.mode = "partial"
            before = held["partitions"]
            job.changed = sorted(p for p, v in job.partitions.items() if before.get(p, {}).get("version") != v)
            job.removed = sorted(before.keys() - job.partitions.keys())
            job.old_names = {p: facts["table"] for p, facts in before.items()}
            job.names = {p: facts["table"] for p, facts in before.items() if p in job.partitions}
        elif self._depended_on(schema, table.name):
            job.mode = "merge"
        return job

    def _held(self, schema: str, name: str) -> dict | None:
        self.cursor.execute(
            "select lake_version, shape, partitions from public.lakehouse_export "
            "where schema_name = $1 and table_name = $2",
            (schema, name),
        )
        rows = self.cursor.fetchall()
        if not rows:
            return None
        version, shape, partitions = rows[0]
        return {"version": version, "shape": shape, "partitions": json.loads(partitions)}

    def _depended_on(self, schema: str, name: str) -> bool:
        """Whether another relation holds a foreign key to the table or a view reads it."""
        self.cursor.execute(_DEPENDED_ON, (f"{identifier(schema)}.{identifier(name)}",))
        return bool(self.cursor.fetchall()[0][0])

    def _exists(self, schema: str, name: str) -> bool:
        self.cursor.execute("select to_regclass($1) is not null", (f"{identifier(schema)}.{identifier(name)}",))
        return bool(self.cursor.fetchall()[0][0])

    def _fingerprint(self, table: Table) -> str:
        """What the database's relation is made from: the contract and the shape (and a view's SQL)."""
        parts = [repr(table), repr(shape_of(table))]
        if shape_of(table).materialized_view:
            parts.append(models()[table.qualified_name].sql)
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]

    # -- building aside ------------------------------------------------------------------------------------------

    def _view_sql(self, job: Job) -> tuple[Job, str]:
        """The model's SQL as PostgreSQL runs it: the lake's schema names become the export's."""
        sql = models()[job.table.qualified_name].sql.strip().rstrip(";")
        for schema in sorted({t.schema for t in contracts.tables("gold")}, key=len, reverse=True):
            sql = sql.replace(f"{schema}.", f"{identifier(self.prefix + schema)}.")
        return job, sql

    # -- bookkeeping ---------------------------------------------------------------------------------------------

    def _record(self, jobs: list[Job]) -> None:
        for job in jobs:
            self.cursor.execute(f"select count(*) from {self._target(job.name)}")
            job.rows = self.cursor.fetchall()[0][0]
            partitions = {p: {"version": v, "table": job.names[p]} for p, v in job.partitions.items()}
            self.cursor.execute(
                "insert into public.lakehouse_export (schema_name, table_name, lake_version, shape, partitions, rows) "
                "values ($1, $2, $3, $4, $5, $6) on conflict (schema_name, table_name) do update set "
                "lake_version = excluded.lake_version, shape = excluded.shape, partitions = excluded.partitions, "
                "rows = excluded.rows, exported_at = now()",
                (job.schema, job.name, job.version, job.fingerprint, json.dumps(partitions, sort_keys=True), job.rows),
            )  # fmt: skip

    def _result(self, job: Job) -> Exported:
        status = "refreshed" if job.mode == "refresh" else "exported"
        seconds = round(job.seconds, 3)
        replaced = len(job.changed) + len(job.removed) if job.mode == "partial" else len(job.partitions)
        return Exported(f"{job.schema}.{job.name}", status, job.rows, seconds, replaced, round(job.load_seconds, 3))

    def _qualified(self, table: Table) -> str:
        return f"{self.prefix}{table.schema}.{table.name}"

    def _target(self, name: str) -> str:
        return f"{identifier(self.schema)}.{identifier(name)}"


def _parents_first(tables: list[Table]) -> list[Table]:
    """Tables ordered so that each comes after the tables its foreign keys point to and its view reads."""
    names = {t.name for t in tables}
    ordered: list[Table] = []
    placed: set[str] = set()
    pending = list(tables)
    while pending:
        for table in pending:
            needs = {fk.table for fk in table.foreign_keys} - {table.name}
            needs |= _reads(table)
            if (needs & names) <= placed:
                ordered.append(table)
                placed.add(table.name)
                pending.remove(table)
                break
        else:
            raise LakehouseError(f"foreign keys form a cycle among {', '.join(t.name for t in pending)}")
    return ordered


def _reads(table: Table) -> set[str]:
    """The names of the gold tables a materialized view reads (none for a table)."""
    if not shape_of(table).materialized_view:
        return set()
    gold = {t.qualified_name: t.name for t in contracts.tables("gold", table.domain)}
    return {gold[name] for name in models()[table.qualified_name].reads if name in gold}


def _drop_leftovers(cursor: Any, schema: str) -> None:
    """Drop what a failed or killed export left behind: every relation of the schema still named `…__new`."""
    cursor.execute(
        "select c.relname, c.relkind from pg_class c join pg_namespace n on n.oid = c.relnamespace "
        "where n.nspname = $1 and c.relkind in ('r', 'p', 'm') and right(c.relname, 5) = '__new' "
        "and not c.relispartition",
        (schema,),
    )
    for name, kind in cursor.fetchall():
        what = "materialized view" if kind == "m" else "table"
        cursor.execute(f"drop {what} if exists {identifier(schema)}.{identifier(name)} cascade")

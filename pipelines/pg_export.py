"""`lakehouse export postgres`: gold tables published into PostgreSQL, each whole or not at all.

The lake stays the source of truth; the database is a replica. Each table is created from its contract in
`<schema>.<table>__new`, bulk-loaded from DuckDB's Arrow stream by the ADBC driver (binary COPY, batch by batch, so
a table never has to fit in memory), analysed, then swapped in by one transaction (the old table dropped, the new
one and its key renamed) under a lock timeout: a reader sees the old table or the new one. `lakehouse_export`
records the lake version each table holds, so an export with nothing new changes nothing; a killed export leaves
`__new` tables, which the next one drops.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import contracts
from contracts.schema import Table
from pipelines.duck import connect
from pipelines.errors import LakehouseError
from pipelines.lake import Lake
from pipelines.pg_types import create_table_sql, identifier
from pipelines.store import TableStore

NEW = "__new"
LOCK_TIMEOUT = "10s"
BATCH_ROWS = 131_072
_VERSIONS = """create table if not exists public.lakehouse_export (
    schema_name text not null, table_name text not null, lake_version text not null, rows bigint not null,
    exported_at timestamptz not null default now(), primary key (schema_name, table_name))"""


@dataclass
class Exported:
    table: str  # schema.table in PostgreSQL
    status: str  # "exported" or "up_to_date"
    rows: int
    seconds: float = 0.0


def export(
    lake: Lake, dsn: str, domains: Sequence[str], select: Sequence[str] = (), schema_prefix: str = ""
) -> list[Exported]:
    """Export the published gold tables of `domains` (or the `select`ed ones) into the database at `dsn`."""
    tables = [
        t for t in contracts.tables("gold")
        if t.domain in domains and (not select or t.name in select) and TableStore(lake, t).state()
    ]  # fmt: skip
    db = _connect(dsn)
    duck = connect(lake, split_views=False)
    try:
        with db.cursor() as cursor:
            cursor.execute(_VERSIONS)
            db.commit()
            held = _held_versions(cursor)
            return [_export_table(lake, db, cursor, duck, t, schema_prefix + t.schema, held) for t in tables]
    finally:
        duck.close()
        db.close()


def _connect(dsn: str) -> Any:
    try:
        import adbc_driver_postgresql.dbapi as postgresql
    except ImportError:
        raise LakehouseError(
            "the PostgreSQL export needs its optional dependencies: pip install -e '.[postgres]'"
        ) from None
    try:
        return postgresql.connect(dsn)
    except Exception as error:  # the driver's errors name no password: libpq's own message, trimmed to one line
        reason = " ".join(str(error).split())
        raise LakehouseError(f"cannot connect to PostgreSQL: {reason}") from None


def _held_versions(cursor: Any) -> dict[tuple[str, str], str]:
    cursor.execute("select schema_name, table_name, lake_version from public.lakehouse_export")
    return {(schema, name): version for schema, name, version in cursor.fetchall()}


def _export_table(
    lake: Lake, db: Any, cursor: Any, duck: Any, table: Table, schema: str, held: dict[tuple[str, str], str]
) -> Exported:
    started = time.monotonic()
    state = TableStore(lake, table).state()
    qualified = f"{schema}.{table.name}"
    if held.get((schema, table.name)) == state["version"]:
        return Exported(qualified, "up_to_date", state.get("rows") or 0)
    target, new = identifier(schema), identifier(table.name + NEW)
    cursor.execute(f"create schema if not exists {target}")
    cursor.execute(f"drop table if exists {target}.{new}")  # a killed export's leftover
    cursor.execute(create_table_sql(table, schema, table.name + NEW))
    db.commit()
    columns = ", ".join(f"cast({c.name} as {c.type.duckdb}) as {c.name}" for c in table.columns)
    reader = duck.sql(f"select {columns} from {table.qualified_name}").to_arrow_reader(batch_size=BATCH_ROWS)
    rows = cursor.adbc_ingest(table.name + NEW, reader, mode="append", db_schema_name=schema)
    cursor.execute(f"analyze {target}.{new}")
    db.commit()
    _swap(cursor, target, table.name)
    cursor.execute(
        "insert into public.lakehouse_export (schema_name, table_name, lake_version, rows) values ($1, $2, $3, $4) "
        "on conflict (schema_name, table_name) do update set lake_version = excluded.lake_version, "
        "rows = excluded.rows, exported_at = now()",
        (schema, table.name, state["version"], rows),
    )
    db.commit()
    return Exported(qualified, "exported", rows, round(time.monotonic() - started, 3))


def _swap(cursor: Any, schema: str, name: str) -> None:
    """Replace the published table by its new version in one transaction (committed by the caller)."""
    table, new, old = identifier(name), identifier(name + NEW), identifier(name + "__old")
    cursor.execute(f"set local lock_timeout = '{LOCK_TIMEOUT}'")
    cursor.execute(f"alter table if exists {schema}.{table} rename to {old}")
    cursor.execute(f"drop table if exists {schema}.{old}")
    cursor.execute(f"alter table {schema}.{new} rename to {table}")
    cursor.execute(
        f"alter table {schema}.{table} rename constraint {identifier(name + NEW + '_pkey')} "
        f"to {identifier(name + '_pkey')}"
    )

"""DuckDB connections that see the lake's tables under their catalog names."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import polars as pl

import contracts
from contracts.schema import Table
from pipelines.lake import Lake
from pipelines.store import TableStore

QUARANTINE_SCHEMA = "quarantine_"  # quarantine_<domain>: each silver table's rejected rows, under its name


def table_views(lake: Lake) -> list[tuple[str, str, Path]]:
    """(schema, view, stable path) of every published table, with each silver table's quarantine."""
    views = []
    for table in contracts.tables():
        if TableStore(lake, table).state() is None:
            continue
        views.append((table.schema, table.name, lake.table_path(table)))
        if table.layer == "silver" and not table.computed:
            views.append((f"{QUARANTINE_SCHEMA}{table.domain}", table.name, lake.quarantine_path(table)))
    return views


def split_view_sql(lake: Lake) -> list[str]:
    """The views of tables declaring `split_views` (one per agency, as the source's tables were), each reading its
    partition of the source table (a view over the whole table would list every partition to bind each view).
    Names and values are quoted: they come from data."""
    statements = []
    for table in contracts.tables():
        split = table.split_views
        if split is None or TableStore(lake, table).state() is None:
            continue
        source = contracts.get(table.layer, table.domain, split.source)
        rows = pl.read_parquet(lake.table_path(table) / "*.parquet", columns=[split.name_column, split.on])
        for name, value in rows.sort(split.name_column).iter_rows():
            folder = lake.table_path(source) / f"{split.on}={value}"
            if folder.is_dir():
                select = f"{', '.join(split.columns)} from read_parquet({_literal(str(folder / '*.parquet'))})"
            else:  # no rows: the columns, typed, and nothing
                columns = [source.column(c) for c in split.columns]
                select = ", ".join(f"cast(null as {c.type.duckdb}) as {c.name}" for c in columns) + " where false"
            statements.append(f"create or replace view {table.schema}.{_identifier(name)} as select {select}")
    return statements


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def view_sql(schema: str, name: str, path: Path | list[Path]) -> list[str]:
    """A view reading every Parquet file under `path` (or under each of several paths)."""
    paths = path if isinstance(path, list) else [path]
    globs = ", ".join("'" + _parquet_glob(p).replace("'", "''") + "'" for p in paths)
    return [
        f"create schema if not exists {schema}",
        f"create or replace view {schema}.{name} as select * from read_parquet([{globs}], hive_types_autocast = false)",
    ]


def _parquet_glob(directory: Path) -> str:
    """The Parquet files of a table's directory: in its partition folders (key=value), if it has any, or in the
    directory itself. Exact globs, not a recursive `**`: those list every folder again on every query."""
    with os.scandir(directory) as entries:
        partitioned = any(entry.is_dir() for entry in entries)
    return f"{directory}/*/*.parquet" if partitioned else f"{directory}/*.parquet"


def empty_view_sql(table: Table) -> list[str]:
    """A view with the table's columns and no rows: what a model reads of a table not yet built."""
    columns = ", ".join(f"cast(null as {c.type.duckdb}) as {c.name}" for c in table.columns)
    return [
        f"create schema if not exists {table.schema}",
        f"create or replace view {table.qualified_name} as select {columns} where false",
    ]


def connect(
    lake: Lake, threads: int | None = None, memory_limit: str | None = None, split_views: bool = True
) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with a view per published table (and the `split_views` of those declaring them, which
    models never read); spills to the lake's _tmp directory."""
    con = duckdb.connect()
    temp = lake.tmp / "duckdb"
    temp.mkdir(parents=True, exist_ok=True)
    con.execute(f"set temp_directory = '{temp}'")
    con.execute("set parquet_metadata_cache = true")  # models and checks read the same files again and again
    if threads:
        con.execute(f"set threads = {int(threads)}")
    if memory_limit:
        con.execute(f"set memory_limit = '{memory_limit}'")
    for schema, name, path in table_views(lake):
        for statement in view_sql(schema, name, path):
            con.execute(statement)
    for statement in split_view_sql(lake) if split_views else []:
        con.execute(statement)
    return con


def scalar(con: duckdb.DuckDBPyConnection, sql: str, parameters: list | None = None) -> object:
    """The single value a query returns (fetching all of it: DuckDB 2 keeps a half-read result open)."""
    return con.execute(sql, parameters or []).fetchall()[0][0]

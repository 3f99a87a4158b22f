"""DuckDB connections that see the lake's tables under their catalog names."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import duckdb

import contracts
from contracts.schema import Table
from core.lake import Lake
from core.store import TableStore

QUARANTINE_SCHEMA = "quarantine_"  # quarantine_<domain>: each silver table's rejected rows, under its name


@dataclass(frozen=True)
class View:
    """A catalog view over the Parquet files under a path."""

    schema: str
    name: str
    path: Path | list[Path]
    columns: tuple[str, ...] | None = None  # in this order; None: all
    partitioned: bool = False  # Hive-style: the partition column is read from folder names (`month=2024-01`)

    @classmethod
    def of(cls, table: Table, path: Path | list[Path]) -> View:
        """A table's view, its columns in contract order, over its stable path, a version or some partitions."""
        columns = (*[c.name for c in table.columns], *table.lineage)
        return cls(table.schema, table.name, path, columns, table.partition is not None)


def table_views(lake: Lake, domain: str | None = None) -> list[View]:
    """A view of every published table (of `domain`, if given) at its stable path, with each silver table's
    quarantine."""
    views = []
    for table in contracts.tables():
        if (domain is not None and table.domain != domain) or TableStore(lake, table).state() is None:
            continue
        views.append(View.of(table, lake.table_path(table)))
        if table.layer == "silver" and not table.computed:
            views.append(View(f"{QUARANTINE_SCHEMA}{table.domain}", table.name, lake.quarantine_path(table)))
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
        with duckdb.connect() as con:  # the agencies' few rows
            rows = con.execute(
                f"select {split.name_column}, {split.on} from read_parquet(?) order by 1",
                [str(lake.table_path(table) / "*.parquet")],
            ).fetchall()
        for name, value in rows:
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


def view_sql(view: View, guard: str | None = None) -> list[str]:
    """A view reading every Parquet file under its path (or each of its paths), Hive-style: a partition column is in
    the folder names only, read as text. `guard`: a condition the view errors out unless it holds."""
    paths = view.path if isinstance(view.path, list) else [view.path]
    globs = ", ".join(_literal(_parquet_glob(p)) for p in paths)
    columns = ", ".join(view.columns) if view.columns else "*"
    hive = str(view.partitioned).lower()
    source = f"read_parquet([{globs}], hive_partitioning = {hive}, hive_types_autocast = false)"
    where = f" where {guard}" if guard else ""
    return [
        f"create schema if not exists {view.schema}",
        f"create or replace view {view.schema}.{view.name} as select {columns} from {source}{where}",
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
    lake: Lake,
    threads: int | None = None,
    memory_limit: str | None = None,
    split_views: bool = True,
    domain: str | None = None,
    views: list[View] | None = None,
) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with a view per published table (of `domain`, if given: binding a view lists its files;
    or the `views` given) and the `split_views` of those declaring them, which models never read; spills to the
    lake's _tmp directory."""
    con = duckdb.connect()
    temp = lake.tmp / "duckdb"
    temp.mkdir(parents=True, exist_ok=True)
    con.execute(f"set temp_directory = '{temp}'")
    # an export or a session reads the same files again and again. Only this connection's own queries: a cursor (the
    # gold builder's threads) does not inherit it, and it would not help them, as DuckDB trusts a cached footer only
    # for a file older than 10 s, while a run reads what it has just written (payments' gold: the same CPU either way)
    con.execute("set parquet_metadata_cache = true")
    if threads:
        con.execute(f"set threads = {int(threads)}")
    if memory_limit:
        con.execute(f"set memory_limit = '{memory_limit}'")
    for view in table_views(lake, domain) if views is None else views:
        for statement in view_sql(view):
            con.execute(statement)
    for statement in split_view_sql(lake) if split_views else []:
        con.execute(statement)
    return con


def scalar(con: duckdb.DuckDBPyConnection, sql: str, parameters: list | None = None) -> object:
    """The single value a query returns (fetching all of it: DuckDB 2 keeps a half-read result open)."""
    return con.execute(sql, parameters or []).fetchall()[0][0]

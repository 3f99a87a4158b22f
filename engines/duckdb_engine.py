"""Gold models on DuckDB, the default engine: a connection that sees the lake's tables under their catalog names and
the project's macros, and a model's rows written as a version's Parquet.

The same connection runs every model's checks (gold/build.py), whichever engine built it: it binds a model's catalog
name to a candidate version, some of its partitions, or the published version.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

import contracts
from contracts.schema import Table
from core.duck import View, connect, empty_view_sql, table_views, view_sql
from core.lake import Lake
from core.store import LOOKUP_ROW_GROUP, ZSTD_LEVEL

if TYPE_CHECKING:
    from gold.models import Model

UNPARTITIONED_FILE = "part-0.parquet"


class DuckDBEngine:
    name = "duckdb"
    errors = (duckdb.Error,)

    def __init__(
        self,
        lake: Lake,
        macros: str,
        threads: int | None = None,
        memory_limit: str | None = None,
        domain: str | None = None,
    ):
        """`domain`: the one whose models it builds (they read no other's tables): only its tables are bound."""
        self.lake, self.domain, self.macros = lake, domain, macros
        views = table_views(lake, domain)
        self.viewed = {(v.schema, v.name): view_sql(v) for v in views}  # what refresh() compares with
        self.base = connect(lake, threads, memory_limit, split_views=False, domain=domain, views=views)
        self.cursors: list[duckdb.DuckDBPyConnection] = []
        self.local = threading.local()
        self.lock = threading.Lock()
        # macros bind the tables they read: the domain's (every domain's without one) that had no view when connect
        # looked read as empty
        empty = [
            statement
            for table in contracts.tables(domain=domain)
            if (table.schema, table.name) not in self.viewed
            for statement in empty_view_sql(table)
        ]
        self.base.execute(";\n".join([*empty, macros]))  # one call: a statement each costs a round trip

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        """This thread's connection to the engine's database: models built side by side each set their own
        variables (`rebuild_from`) and share the views and macros."""
        con = getattr(self.local, "con", None)
        if con is None:
            with self.lock:
                con = self.local.con = self.base.cursor()
                self.cursors.append(con)
        return con

    def refresh(self) -> None:
        """Before the first model: bind again the views of the tables published since the engine started, where that
        changed them. A run starts its engines while silver runs, and a table built meanwhile may be new, or have
        gained partition folders (the views read the stable paths, so other new versions are seen as they are)."""
        views = table_views(self.lake, self.domain)
        current = {(v.schema, v.name): view_sql(v) for v in views}
        changed = [s for key, statements in current.items() if self.viewed.get(key) != statements for s in statements]
        if changed:  # the macros again too: a macro reads the views it was created with
            self.base.execute(";\n".join([*changed, self.macros]))
        self.viewed = current

    def close(self) -> None:
        for con in self.cursors:
            con.close()
        self.base.close()

    def write(self, model: Model, directory: Path, rebuild: set[str] | None) -> dict[str, int]:
        """Write the model's rows into the empty `directory`: one file ordered by key for an unpartitioned table,
        else a Hive folder (`month=2024-01`) per partition, only those in `rebuild` when given (an empty result is
        one empty file). Returns the rows of each folder written ('' for the directory itself)."""
        table = model.table
        # where the rebuild starts (null: everything); a model carrying state reads the rest from its published
        # version, or from the empty view that stands for it before its first build
        self.con.execute("set variable rebuild_from = ?", [min(rebuild) if rebuild else None])
        query = f"select * from (\n{model.sql.strip().rstrip(';')}\n)"
        options = f"format parquet, compression zstd, compression_level {ZSTD_LEVEL}{_row_groups(table)}"
        if not table.partition:  # small tables are ordered by key; large ones keep their input's order
            order = ", ".join(table.sorted_by or table.key)
            rows = self.con.execute(
                f"copy ({query} order by {order}) to '{directory / UNPARTITIONED_FILE}' ({options})"
            )
            return {"": rows.fetchall()[0][0]}
        column = table.partition.column
        if rebuild is not None:
            query += f" where {column} in ({', '.join(_quoted(p) for p in sorted(rebuild)) or 'null'})"
        order = f", order_by ({', '.join(table.sorted_by)})" if table.sorted_by else ""
        files = self.con.sql(
            f"copy ({query}) to '{directory}' ({options}, partition_by ({column}){order}, return_stats)"
        ).fetchall()
        rows: dict[str, int] = {}
        for filename, count, *_ in files:
            folder = Path(filename).parent.name
            rows[folder] = rows.get(folder, 0) + count
        if not rows:  # no rows: keep the table readable, empty
            directory.mkdir(parents=True, exist_ok=True)
            self.con.execute(f"copy ({query} limit 0) to '{directory / UNPARTITIONED_FILE}' (format parquet)")
            return {"": 0}
        return rows

    def bind(self, table: Table, path: Path | list[Path] | None) -> None:
        """Point the table's catalog name at `path` (a candidate version, some of its partitions, the published
        version, or nothing)."""
        if path is None:
            self.con.execute(f"drop view if exists {table.qualified_name}")
            return
        for statement in view_sql(View.of(table, path)):
            self.con.execute(statement)

    def published(self, table: Table) -> None:
        self.bind(table, self.lake.table_path(table))


def _row_groups(table: Table) -> str:
    """Small row groups for a table sorted for lookups: a lookup decodes one group, not DuckDB's default 122,880
    rows."""
    return f", row_group_size {LOOKUP_ROW_GROUP}" if table.sorted_by else ""


def _quoted(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"

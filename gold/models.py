"""Gold models: one SQL file per table, `gold/<domain>/<table>.sql`, each with its contract.

A model reads other tables by their catalog names (`silver_meters.readings`, `gold_meters.dim_meter`), so its
SQL runs unchanged in `duckdb data/lakehouse.duckdb`. Its dependencies are the tables its SQL reads (found by
DuckDB's own parser), the tables its foreign keys point to (they must exist before it can be checked), and
any table named on a `-- depends_on:` line, for reads hidden in a macro (dbt's convention).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import contracts
from contracts.schema import Table
from core.errors import LakehouseError

if TYPE_CHECKING:
    import duckdb

GOLD_DIR = Path(__file__).parent
MACROS_DIR = GOLD_DIR / "macros"
DEPENDS_ON = "-- depends_on:"


@dataclass(frozen=True)
class Model:
    table: Table
    path: Path
    sql: str
    reads: tuple[str, ...]  # tables the SQL reads, by qualified name: its data
    references: tuple[str, ...] = ()  # dimensions its foreign keys point to: built first, checked against

    @property
    def depends_on(self) -> tuple[str, ...]:
        return tuple(sorted(set(self.reads) | set(self.references)))

    @property
    def name(self) -> str:
        return self.table.qualified_name


@cache
def models() -> dict[str, Model]:
    """Every gold model by qualified name, in contract order."""
    found = {}
    contracted = set()
    for table in contracts.tables("gold"):
        path = GOLD_DIR / table.domain / f"{table.name}.sql"
        contracted.add(path)
        if not path.exists():
            raise LakehouseError(f"gold contract {table.qualified_name} has no model file {path}")
        sql = path.read_text()
        # a model carrying state forward reads its own previous version: that is not a dependency
        reads = (_tables_read(sql, path) | _declared(sql)) - {table.qualified_name}
        references = {contracts.parent(table, fk).qualified_name for fk in table.foreign_keys} - {table.qualified_name}
        found[table.qualified_name] = Model(table, path, sql, tuple(sorted(reads)), tuple(sorted(references)))
    strays = sorted(set(GOLD_DIR.glob("*/*.sql")) - contracted - set(MACROS_DIR.glob("*.sql")))
    if strays:
        raise LakehouseError(f"gold model {strays[0]} has no contract; declare it in contracts/")
    return found


def macros_sql(domain: str | None = None) -> str:
    """SQL macros: `common.sql` and `<domain>.sql` (e.g. bill charges for meters), or every domain's. Loaded
    into every gold connection, and by generators that price with the same SQL."""
    paths = sorted(MACROS_DIR.glob("*.sql"))
    if domain is not None:
        paths = [p for p in paths if p.stem in ("common", domain)]
    return "\n".join(p.read_text() for p in paths)


def dependencies() -> dict[str, tuple[str, ...]]:
    return {name: model.depends_on for name, model in models().items()}


@cache
def _parser() -> duckdb.DuckDBPyConnection:
    import duckdb  # here: a run with nothing to do reads the models' files, and parses none

    return duckdb.connect()


def _declared(sql: str) -> set[str]:
    lines = [line.removeprefix(DEPENDS_ON) for line in sql.splitlines() if line.startswith(DEPENDS_ON)]
    return {name for line in lines for name in re.findall(r"\b\w+\.\w+\b", line)}


def _tables_read(sql: str, path: Path) -> set[str]:
    from core.duck import scalar

    parsed = json.loads(scalar(_parser(), "select json_serialize_sql(?)", [sql]))
    if parsed.get("error"):
        raise LakehouseError(f"{path}: {parsed.get('error_message', 'cannot parse the SQL')}")
    found: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if node.get("type") == "BASE_TABLE" and node.get("schema_name"):
                found.add(f"{node['schema_name']}.{node['table_name']}")
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(parsed)
    return found

"""`data/lakehouse.duckdb`: a DuckDB database of views over every table, for users and BI tools.

Views read the stable table paths, so they stay valid as versions are published; the file is rebuilt only when
the set of tables changes, into a temporary file renamed into place, so an open session never blocks a run.
"""

from __future__ import annotations

import hashlib
import os

import duckdb

from pipelines.duck import scalar, split_view_sql, table_views, view_sql
from pipelines.lake import Lake

_FINGERPRINT_TABLE = "_lakehouse_catalog"


def refresh(lake: Lake) -> bool:
    """Rebuild the catalog if its views changed; returns whether it did."""
    statements = [s for schema, name, path in table_views(lake) for s in view_sql(schema, name, path)]
    statements += split_view_sql(lake)
    fingerprint = hashlib.sha256("\n".join(statements).encode()).hexdigest()
    if _current_fingerprint(lake) == fingerprint:
        return False
    temporary = lake.catalog.with_name(f".{lake.catalog.name}.tmp")
    temporary.unlink(missing_ok=True)
    con = duckdb.connect(str(temporary))
    try:
        for statement in statements:
            con.execute(statement)
        con.execute(f"create table main.{_FINGERPRINT_TABLE} as select ? as fingerprint", [fingerprint])
        con.execute("checkpoint")
    finally:
        con.close()
    os.replace(temporary, lake.catalog)
    return True


def _current_fingerprint(lake: Lake) -> str | None:
    if not lake.catalog.exists():
        return None
    try:
        con = duckdb.connect(str(lake.catalog), read_only=True)
    except duckdb.Error:
        return None
    try:
        return scalar(con, f"select fingerprint from main.{_FINGERPRINT_TABLE}")
    except duckdb.Error:
        return None
    finally:
        con.close()

"""`data/lakehouse.duckdb`: a DuckDB database of views over every table, for users and BI tools.

Views read the stable table paths, so they stay valid as versions are published; the file is rebuilt only when
the set of tables changes, into a temporary file renamed into place, so an open session never blocks a run.

It is written in the storage format of DuckDB 1.1, so that the DuckDB CLI and the BI drivers users already have
open it, whatever the DuckDB that wrote it. Its views hold absolute paths (DuckDB resolves relative ones against
the reader's working directory, not the database): each view therefore checks that the catalog is still where it
was built and fails with a message otherwise, so a copied or moved lake's catalog never reads another lake's files.
Every `lakehouse` command that reads it repairs it first (`ensure_current`).
"""

from __future__ import annotations

import hashlib
import os

import duckdb

from core.duck import scalar, split_view_sql, table_views, view_sql
from core.errors import LockedError, ReadOnlyLakeError
from core.lake import Lake
from core.lock import lake_lock

_FINGERPRINT_TABLE = "_lakehouse_catalog"
STORAGE_VERSION = "v1.1.0"  # the oldest DuckDB that must open the catalog


def refresh(lake: Lake) -> bool:
    """Rebuild the catalog if its views changed (or the lake moved); returns whether it did."""
    guard = _guard(lake)
    statements = [s for view in table_views(lake) for s in view_sql(view, guard)] + split_view_sql(lake)
    fingerprint = hashlib.sha256("\n".join(statements).encode()).hexdigest()
    if _current_fingerprint(lake) == fingerprint:
        return False
    temporary = lake.catalog.with_name(f".{lake.catalog.name}.tmp")
    temporary.unlink(missing_ok=True)
    con = duckdb.connect(str(temporary), config={"storage_compatibility_version": STORAGE_VERSION})
    try:
        for statement in statements:
            con.execute(statement)
        con.execute(f"create table main.{_FINGERPRINT_TABLE} as select ? as fingerprint", [fingerprint])
        con.execute("checkpoint")
    finally:
        con.close()
    os.replace(temporary, lake.catalog)
    return True


def ensure_current(lake: Lake) -> None:
    """Repair the catalog of a lake that was copied or moved (or whose catalog is missing) before reading it. A run
    in progress refreshes it itself when it ends, so a locked lake is left alone, as is one the user may only
    read."""
    try:
        with lake_lock(lake, "catalog repair"):
            refresh(lake)
    except (LockedError, ReadOnlyLakeError):  # busy, or not ours to write: read it as it is
        return


def open_catalog(lake: Lake) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the catalog, repaired first if the lake moved."""
    ensure_current(lake)
    try:
        return duckdb.connect(str(lake.catalog), read_only=True)
    except duckdb.Error as error:  # another program holds it for writing
        raise LockedError(f"cannot open the catalog {lake.catalog}: {str(error).splitlines()[0]}") from None


def _guard(lake: Lake) -> str:
    """A condition that holds only when the catalog file is opened where it was built (by its resolved path or the
    path as the lake was named); otherwise the view fails with a message saying how to repair it."""
    paths = sorted({str(lake.catalog), os.path.abspath(lake.catalog)})
    listed = ", ".join("'" + p.replace("'", "''") + "'" for p in paths)
    message = (
        f"this catalog belongs to the lake at {lake.root}: the lake was copied or moved; run any lakehouse "
        "command on it (e.g. `lakehouse --data-dir <its new place> run`) to repair the catalog"
    ).replace("'", "''")
    return (
        f"case when exists (select 1 from duckdb_databases() where path in ({listed})) then true "
        f"else error('{message}') end"
    )


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

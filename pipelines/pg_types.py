"""PostgreSQL column types from the contracts: exact, never what a driver infers from the data (bare numeric, text)."""

from __future__ import annotations

from contracts.schema import Column, Table

_TYPES = {
    "BIGINT": "bigint",
    "INTEGER": "integer",
    "DOUBLE": "double precision",
    "DATE": "date",
    "TIMESTAMP": "timestamp",
    "BOOLEAN": "boolean",
    "VARCHAR[]": "text[]",
}


def identifier(name: str) -> str:
    """A name quoted as PostgreSQL quotes identifiers (names come from contracts, quoted all the same)."""
    return '"' + name.replace('"', '""') + '"'


def column_type(column: Column) -> str:
    duckdb = column.type.duckdb
    if duckdb.startswith("DECIMAL"):
        return duckdb.replace("DECIMAL", "numeric")
    if duckdb == "VARCHAR":
        return f"varchar({column.max_length})" if column.max_length else "text"
    return _TYPES[duckdb]


def create_table_sql(table: Table, schema: str, name: str) -> str:
    """The table's DDL: its contract's columns and types, not-null where the contract says, and its key."""
    columns = [f"{identifier(c.name)} {column_type(c)}{'' if c.nullable else ' not null'}" for c in table.columns]
    key = ", ".join(identifier(k) for k in table.key)
    columns.append(f"constraint {identifier(name + '_pkey')} primary key ({key})")
    return f"create table {identifier(schema)}.{identifier(name)} ({', '.join(columns)})"

"""PostgreSQL names, literals and column types from the contracts: exact types, never what a driver infers from the
data (bare numeric, text), and every name quoted, whatever file or option it came from."""

from __future__ import annotations

import hashlib

from contracts.schema import Column, ForeignKey, Table

_TYPES = {
    "BIGINT": "bigint",
    "INTEGER": "integer",
    "DOUBLE": "double precision",
    "DATE": "date",
    "TIMESTAMP": "timestamp",
    "BOOLEAN": "boolean",
    "VARCHAR[]": "text[]",
    "JSON": "jsonb",
}
# PostgreSQL truncates longer names (NAMEDATALEN - 1 = 63 bytes); five more are kept for the `__new` suffix
_NAME_BYTES = 58


def identifier(name: str) -> str:
    """A name quoted as PostgreSQL quotes identifiers."""
    return '"' + name.replace('"', '""') + '"'


def literal(value: str) -> str:
    """A string constant, for the statements that take no parameters (partition bounds, CHECK constraints)."""
    return "'" + value.replace("'", "''") + "'"


def fitted(name: str) -> str:
    """`name`, or when PostgreSQL would truncate it (with its `__new` suffix), a prefix and a hash of the rest, so
    that two long names never become one."""
    if len(name.encode()) <= _NAME_BYTES:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return name.encode()[: _NAME_BYTES - 9].decode(errors="ignore") + "_" + digest


def column_type(column: Column) -> str:
    duckdb = column.type.duckdb
    if duckdb.startswith("DECIMAL"):
        return duckdb.replace("DECIMAL", "numeric")
    if duckdb == "VARCHAR":
        return f"varchar({column.max_length})" if column.max_length else "text"
    return _TYPES[duckdb]


def create_table_sql(
    table: Table, schema: str, name: str, key: tuple[str, ...] | None = None, key_name: str | None = None,
    suffix: str = "",
) -> str:  # fmt: skip
    """The table's DDL: its contract's columns and types, not-null where the contract says, and its key (by default
    the contract's, named `<name>_pkey`; none when `key` is empty); `suffix` is the partitioning clause, if any."""
    columns = [f"{identifier(c.name)} {column_type(c)}{'' if c.nullable else ' not null'}" for c in table.columns]
    key = table.key if key is None else key
    if key:
        keys = ", ".join(identifier(k) for k in key)
        columns.append(f"constraint {identifier(key_name or name + '_pkey')} primary key ({keys})")
    return f"create table {identifier(schema)}.{identifier(name)} ({', '.join(columns)}){suffix}"


def foreign_key_sql(table: Table, fk: ForeignKey, schema: str, parent: str) -> str:
    """A contract's foreign key as a table constraint, named as PostgreSQL would name it, pointing at `parent`."""
    columns = ", ".join(identifier(c) for c in fk.columns)
    to = ", ".join(identifier(c) for c in fk.to)
    name = identifier(fitted(f"{table.name}_{'_'.join(fk.columns)}_fkey"))
    return f"constraint {name} foreign key ({columns}) references {identifier(schema)}.{identifier(parent)} ({to})"

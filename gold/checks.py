"""A freshly built gold table checked against its contract before it is published.

Every check is a query counting offending rows (zero means pass): columns and types exactly as declared, key
unique and not null, required columns present, ranges and allowed values, foreign keys resolving to their
dimension, row checks and audits. The checked relation is bound to the model's own catalog name, so audits can
refer to it as any other table.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from contracts.schema import Column, Table
from pipelines.duck import scalar


@dataclass(frozen=True)
class Failure:
    check: str
    offending: int | str


def check_table(con: duckdb.DuckDBPyConnection, table: Table) -> list[Failure]:
    """Run every contract check on `table.qualified_name` as currently bound in `con`."""
    name = table.qualified_name
    actual = [(row[0], row[1]) for row in con.execute(f"describe select * from {name}").fetchall()]
    expected = [(c.name, c.type.duckdb) for c in table.columns]
    if actual != expected:
        return [Failure("columns", f"expected {_describe(expected)}, built {_describe(actual)}")]
    counts = {
        "key:unique": f"select count(*) from (select 1 from {name} group by {_list(table.key)} having count(*) > 1)",
        "key:not_null": f"select count(*) from {name} where {' or '.join(f'{k} is null' for k in table.key)}",
    }
    for column in table.columns:
        for rule, condition in _column_conditions(column):
            counts[f"{column.name}:{rule}"] = f"select count(*) from {name} where {condition}"
    for fk in table.foreign_keys:
        parent = f"gold_{table.domain}.{fk.table}"
        join = " and ".join(f"p.{to} = c.{col}" for col, to in zip(fk.columns, fk.to))
        present = " and ".join(f"c.{col} is not null" for col in fk.columns)
        counts[fk.rule] = (
            f"select count(*) from {name} c where {present} and not exists (select 1 from {parent} p where {join})"
        )
    for check in table.checks:
        counts[f"check:{check.name}"] = f"select count(*) from {name} where not ({check.sql})"
    for audit in table.audits:
        counts[f"audit:{audit.name}"] = f"select count(*) from ({audit.sql})"
    failures = []
    for check, sql in counts.items():
        offending = scalar(con, sql)
        if offending:
            failures.append(Failure(check, offending))
    return failures


def _column_conditions(column: Column) -> list[tuple[str, str]]:
    name = column.name
    conditions = [] if column.nullable else [("not_null", f"{name} is null")]
    bounds = [f"{name} < {_literal(column.min)}"] if column.min is not None else []
    bounds += [f"{name} > {_literal(column.max)}"] if column.max is not None else []
    if bounds:
        conditions.append(("range", " or ".join(bounds)))
    if column.allowed is not None:
        conditions.append(("allowed", f"{name} not in ({', '.join(_literal(v) for v in column.allowed)})"))
    if column.pattern is not None:
        conditions.append(("pattern", f"not regexp_matches({name}, {_literal(column.pattern)})"))
    return conditions


def _literal(value: object) -> str:
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if hasattr(value, "isoformat"):
        return f"'{value.isoformat()}'"
    return repr(value)


def _list(names: tuple[str, ...]) -> str:
    return ", ".join(names)


def _describe(columns: list[tuple[str, str]]) -> str:
    return ", ".join(f"{n} {t}" for n, t in columns)

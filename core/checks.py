"""A freshly built table (a gold model, or a silver table computed from others) checked against its contract
before it is published.

Every check is a query counting offending rows (zero means pass): columns and types exactly as declared, key
unique and not null, required columns present, ranges and allowed values, foreign keys resolving to their
dimension, row checks and audits. The checked relation is bound to the model's own catalog name, so audits can
refer to it as any other table.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import duckdb

import contracts
from contracts.schema import Column, Table
from core.duck import scalar


@dataclass(frozen=True)
class Failure:
    check: str
    offending: int | str


def check_table(con: duckdb.DuckDBPyConnection, table: Table) -> list[Failure]:
    """Run every contract check on `table.qualified_name` as currently bound in `con`."""
    return check_rows(con, table) + check_key(con, table) + check_audits(con, table)


def check_rows(
    con: duckdb.DuckDBPyConnection, table: Table, foreign_keys: bool = True, columns: Collection[str] | None = None
) -> list[Failure]:
    """The checks that hold row by row: they can run on just the partitions rebuilt. A table computed from others
    may skip the foreign keys' joins (its keys hold by construction) and the rules of `columns` it copied."""
    name = table.qualified_name
    actual = [(row[0], row[1]) for row in con.execute(f"describe select * from {name}").fetchall()]
    expected = [(c.name, c.type.duckdb) for c in table.columns]
    if actual != expected:
        return [Failure("columns", f"expected {_describe(expected)}, built {_describe(actual)}")]
    # Row rules and foreign keys share one scan (parents joined under unique aliases, so that bare column
    # names still mean the checked table's); key uniqueness and audits have queries of their own.
    checked = [c for c in table.columns if columns is None or c.name in columns]
    row_rules = {f"{c.name}:{rule}": condition for c in checked for rule, condition in _column_conditions(c)}
    row_rules |= {f"check:{check.name}": f"not ({check.sql})" for check in table.checks}
    row_rules["key:not_null"] = " or ".join(f"{k} is null" for k in table.key)
    joins = []
    for number, fk in enumerate(table.foreign_keys if foreign_keys else ()):
        alias = [f"_fk{number}_{to}" for to in fk.to]
        renamed = ", ".join(f"{to} as {a}" for to, a in zip(fk.to, alias))
        on = " and ".join(f"{a} = {col}" for a, col in zip(alias, fk.columns))
        joins.append(f"left join (select distinct {renamed} from {contracts.parent(table, fk).qualified_name}) on {on}")
        present = " and ".join(f"{col} is not null" for col in fk.columns)
        row_rules[fk.rule + ":" + ",".join(fk.columns)] = f"{present} and {alias[0]} is null"
    scan = f"select {', '.join(f'count_if({c})' for c in row_rules.values())} from {name} {' '.join(joins)}"
    counts = dict(zip(row_rules, con.execute(scan).fetchall()[0]))
    return [Failure(check, offending) for check, offending in counts.items() if offending]


def check_key(con: duckdb.DuckDBPyConnection, table: Table, rebuilt: Collection[str] | None = None) -> list[Failure]:
    """The key, and each alternate key, is unique in what is bound to the table's name (the builder binds just the
    rebuilt partitions when the key fixes the partition, else the whole new version).

    With `rebuilt` partitions of a whole version, only their keys are checked: unique among themselves and absent
    from the other partitions, which are those of the previous version, checked when it was built. That is the
    same verdict without grouping every key of the history (a refresh of 30 days of tower sessions: 45 -> 19 ms).
    """
    name = table.qualified_name
    failures = []
    for rule, columns in (("key:unique", table.key), *((f"unique:{','.join(u)}", u) for u in table.unique)):
        keys = ", ".join(columns)
        if rebuilt is None:
            if not _hashes_repeat(con, name, keys):  # then no key repeats; if one does, the offenders are counted
                continue
            offending = f"select 1 from {name} group by {keys} having count(*) > 1"
        else:
            inside = f"{table.partition.column} in ({', '.join(_literal(p) for p in sorted(rebuilt)) or 'null'})"
            offending = f"""
                with fresh as (select {keys}, count(*) as n from {name} where {inside} group by {keys})
                select {keys} from fresh where n > 1
                union all
                select distinct {keys} from fresh join (select {keys} from {name} where not ({inside})) using ({keys})
            """
        if count := scalar(con, f"select count(*) from ({offending})"):
            failures.append(Failure(rule, count))
    return failures


# _hashes_repeat: tables from this many rows have their hashes sorted in polars (below, loading polars would cost
# more than it saves), this many at a time (16 M hashes are 128 MB, twice over while sorted)
SORTED_FROM = 1_000_000
HASHES_PER_SORT = 16_000_000


def _hashes_repeat(con: duckdb.DuckDBPyConnection, relation: str, keys: str) -> bool:
    """Whether the hashes of `keys` repeat in `relation`. Equal keys hash alike, so where no hash repeats no key does
    (a repeat may rarely be two keys hashing alike). DuckDB hashes the keys (13 M readings: 0.05 s); a large table's
    hashes are sorted by polars, a share of the hash space at a time so that memory stays bounded. 13 M readings:
    grouping the keys took 1.2 s, counting distinct hashes 0.8-1.3 s, sorting the hashes 0.3-0.4 s; 79 M: 8.3, 7.8
    and 4.0 s (8 M hashes a sort: 6.2 s)."""
    rows = int(scalar(con, f"select count(*) from {relation}"))
    if rows < SORTED_FROM:
        return int(scalar(con, f"select count(distinct hash({keys})) from {relation}")) < rows
    shares = -(-rows // HASHES_PER_SORT)
    for share in range(shares):
        where = f" where hash({keys}) % {shares} = {share}" if shares > 1 else ""
        hashes = con.sql(f"select hash({keys}) as h from {relation}{where}").pl().get_column("h").sort()
        if (hashes.slice(1) == hashes.slice(0, max(len(hashes) - 1, 0))).any():
            return True
    return False


def check_audits(con: duckdb.DuckDBPyConnection, table: Table) -> list[Failure]:
    """The checks about the whole table, such as totals matching a fact table."""
    counts = {f"audit:{a.name}": scalar(con, f"select count(*) from ({a.sql})") for a in table.audits}
    return [Failure(check, offending) for check, offending in counts.items() if offending]


def _column_conditions(column: Column) -> list[tuple[str, str]]:
    name = column.name
    conditions = [] if column.nullable else [("not_null", f"{name} is null")]
    bounds = [f"{name} < {_literal(column.min)}"] if column.min is not None else []
    bounds += [f"{name} > {_literal(column.max)}"] if column.max is not None else []
    if bounds:
        conditions.append(("range", " or ".join(bounds)))
    if column.allowed is not None:
        conditions.append(("allowed", f"{name} not in ({', '.join(_literal(v) for v in column.allowed)})"))
    if column.max_length is not None:
        conditions.append(("length", f"length({name}) > {column.max_length}"))
    if column.pattern is not None:
        conditions.append(("pattern", f"not regexp_matches({name}, {_literal(column.pattern)})"))
    return conditions


def _literal(value: object) -> str:
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if hasattr(value, "isoformat"):
        return f"'{value.isoformat()}'"
    return repr(value)


def _describe(columns: list[tuple[str, str]]) -> str:
    return ", ".join(f"{n} {t}" for n, t in columns)

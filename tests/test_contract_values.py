"""What silver accepts, gold can use: for every column of every contract whose text is checked by a pattern or
its type's form, values drawn from that very pattern that silver accepts hold ASCII digits only where digits are
meant, and cast to the column's DuckDB type. (An id written with Arabic-Indic digits once passed silver's `\\d` and
then failed every gold build after it.)"""

from __future__ import annotations

import duckdb
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import contracts
from bronze.records import ERROR
from contracts.schema import Column, Table
from silver.rules import RULES, validate

CHECKED = [
    pytest.param(table, column, id=f"{table.qualified_name}.{column.name}")
    for table in contracts.tables("silver")
    for column in table.source_columns
    if column.pattern or column.type.lexical
]


def accepted(table: Table, column: Column, text: str) -> bool:
    """Whether silver finds nothing wrong with the column's value (other columns are left empty)."""
    raw = pl.DataFrame(
        {ERROR: [None], **{c.name: [text if c.name == column.name else None] for c in table.source_columns}},
        schema={ERROR: pl.String, **{c.name: pl.String for c in table.source_columns}},
    )
    rules = validate(raw, table, {}).get_column(RULES)[0]
    return not [rule for rule in rules if rule.startswith(f"{column.name}:")]


@pytest.mark.parametrize(("table", "column"), CHECKED)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_what_silver_accepts_gold_can_cast(table: Table, column: Column, data: st.DataObject) -> None:
    for regex in filter(None, (column.pattern, column.type.lexical)):
        text = data.draw(st.from_regex(regex, fullmatch=True), label=regex)
        if not accepted(table, column, text):
            continue
        if "[0-9]" in regex or "\\d" in regex:  # digits are meant: ASCII ones, which gold can cast
            assert all(c in "0123456789" for c in text if c.isdigit()), text
        duckdb.sql(f"select cast(? as {column.type.duckdb})", params=[text.strip()]).fetchall()


def test_a_leap_second_is_refused_rather_than_moved_to_the_next_day() -> None:
    """polars reads 23:59:60 as midnight of the next day; the contract refuses it instead (hypothesis found it)."""
    table = contracts.get("silver", "telecom", "forex_raw")
    column = table.column("ingested_at")
    assert accepted(table, column, "2024-01-01 23:59:59")
    assert not accepted(table, column, "2024-01-01 23:59:60")

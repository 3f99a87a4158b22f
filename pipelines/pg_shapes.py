"""How gold tables land in PostgreSQL, as the systems the lake replaced had them there.

The contract gives every table its columns, types, key and foreign keys; a shape adds only what is PostgreSQL's
own: the seeds' named indexes, declarative partitions (one per lake partition, so an export replaces only the
partitions that changed), and materialized views (a gold model the database computes from the exported tables and
refreshes concurrently, as the source's `client_transaction_summary` was).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from contracts.schema import Table
from pipelines.pg_types import identifier, literal

# relations being built carry this suffix until the swap renames them; a killed export's leftovers are found by it
NEW = "__new"


@dataclass(frozen=True)
class Index:
    name: str
    columns: tuple[str, ...]


@dataclass(frozen=True)
class Shape:
    indexes: tuple[Index, ...] = ()
    partitioned: bool = False  # one PostgreSQL partition per lake partition
    materialized_view: bool = False  # the model's SQL run by PostgreSQL over the exported tables


SHAPES = {
    # neotransact's tables, indexes and materialized view (seed 001)
    "gold_trades.clients": Shape(
        indexes=(Index("account_type_idx", ("account_type",)), Index("country_idx", ("country",)))
    ),
    "gold_trades.transactions": Shape(
        partitioned=True,
        indexes=(
            Index("client_transaction_idx", ("client_id", "transaction_date")),
            Index("transaction_status_idx", ("submitted_status",)),  # the source's transaction_status
        ),
    ),
    "gold_trades.client_transaction_summary": Shape(materialized_view=True),
    # the rating loader's table per agency (seed 002): each agency's rows are a partition named as its table was
    "gold_ratings.customer_ratings": Shape(partitioned=True),
}  # fmt: skip

_NEXT = {  # a date partition's upper bound: the start of the next year, month or day
    "%Y": lambda d: d.replace(year=d.year + 1),
    "%Y-%m": lambda d: d.replace(year=d.year + d.month // 12, month=d.month % 12 + 1),
    "%Y-%m-%d": lambda d: d + dt.timedelta(days=1),
}


def shape_of(table: Table) -> Shape:
    return SHAPES.get(table.qualified_name, Shape())


@dataclass(frozen=True)
class Partitioning:
    """A partitioned table's PostgreSQL scheme: RANGE over the date its lake partitions are cut from (the
    source's `transactions_2024` held one year of transaction_date), else LIST over the partition column."""

    table: Table

    @property
    def by_range(self) -> bool:
        spec = self.table.partition
        source = self.table.column_index.get(spec.source)
        return spec.format in _NEXT and source is not None and source.type.duckdb in ("DATE", "TIMESTAMP")

    @property
    def column(self) -> str:
        return self.table.partition.source if self.by_range else self.table.partition.column

    def clause(self) -> str:
        return f"partition by {'range' if self.by_range else 'list'} ({identifier(self.column)})"

    def bounds(self, value: str) -> str:
        if not self.by_range:
            return f"for values in ({literal(value)})"
        low, high = self._range(value)
        return f"for values from ({literal(low)}) to ({literal(high)})"

    def check(self, value: str) -> str:
        """The partition's constraint as a CHECK, built on the loaded table so that ATTACH need not scan it."""
        column = identifier(self.column)
        if not self.by_range:
            return f"check ({column} is not null and {column} = {literal(value)})"
        low, high = self._range(value)
        return f"check ({column} is not null and {column} >= {literal(low)} and {column} < {literal(high)})"

    def _range(self, value: str) -> tuple[str, str]:
        start = dt.datetime.strptime(value, self.table.partition.format).date()
        return start.isoformat(), _NEXT[self.table.partition.format](start).isoformat()


def partitioning(table: Table) -> Partitioning | None:
    return Partitioning(table) if shape_of(table).partitioned and table.partition else None


def primary_key(table: Table) -> tuple[str, ...]:
    """The contract's key, plus the partition column PostgreSQL requires in a partitioned table's key."""
    scheme = partitioning(table)
    if scheme and scheme.column not in table.key:
        return (*table.key, scheme.column)
    return table.key

"""The vocabulary of table contracts.

A contract is declared once per table and read by the generator (column order of the bronze CSV), silver
validation (types, nullability, ranges, allowed values, keys, foreign keys, row checks), gold checks (the same
rules run as SQL against a freshly built model) and `lakehouse docs`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import polars as pl

# The lineage columns every silver row read from bronze carries: the bronze file it came from, its sheet (for
# tables fed workbooks) and its line. A key may name the file, where rows are unique only within their file (one
# agency's full load).
SOURCE_FILE = "_source_file"
SOURCE_SHEET = "_source_sheet"
SOURCE_LINE = "_source_line"


@dataclass(frozen=True)
class DataType:
    """A logical column type: how raw text must look, what polars and DuckDB call it."""

    name: str
    # polars' type, from the polars module: polars is imported when a type is first needed, not by every command
    # that reads the contracts (`lakehouse --help` would pay 0.15 s for it)
    make_polars: Callable[[ModuleType], pl.DataType] = field(compare=False, repr=False)
    duckdb: str
    # regex a stripped raw value must match before it is cast; None where the cast alone is strict enough
    lexical: str | None
    strptime: str | None = None  # the text format of dates and timestamps
    # the values a bounded integer type holds: a well-formed number outside them is out of range, not malformed
    bounds: tuple[int, int] | None = None

    @cached_property
    def polars(self) -> pl.DataType:
        import polars

        return self.make_polars(polars)

    def parse(self, raw: pl.Expr) -> pl.Expr:
        """Cast validated text (null unless it has the type's lexical form) to the typed value (null where the
        text does not fit)."""
        import polars as pl

        if self.polars == pl.String:
            return raw
        if self.polars == pl.Date:
            return raw.str.to_date(self.strptime, strict=False)
        if self.polars == pl.Datetime("us"):
            text = raw.str.replace("T", " ", literal=True)
            if self.strptime.endswith("%.3f"):  # polars parses whole seconds 4x as fast: the milliseconds are added
                seconds = text.str.slice(0, 19).str.to_datetime(self.strptime[:-4], time_unit="us", strict=False)
                return seconds + pl.duration(milliseconds=text.str.slice(20, 3).cast(pl.Int64, strict=False))
            return text.str.to_datetime(self.strptime, time_unit="us", strict=False)
        if self.polars == pl.Boolean:
            lowered = raw.str.to_lowercase()
            return (
                pl.when(lowered.is_in(["true", "1", "yes"]))
                .then(True)
                .when(lowered.is_in(["false", "0", "no"]))
                .then(False)
            )
        if self.bounds is not None:  # parsed wide, so that a number too large for the type is seen as such
            return raw.cast(pl.Int128, strict=False)
        return raw.cast(self.polars, strict=False)


STRING = DataType("string", lambda pl: pl.String(), "VARCHAR", None)
INT = DataType("int", lambda pl: pl.Int64(), "BIGINT", None)  # polars' cast accepts only [+-]digits that fit
# likewise decimal syntax, plus inf/nan: rejected below
FLOAT = DataType("float", lambda pl: pl.Float64(), "DOUBLE", None)
DATE = DataType("date", lambda pl: pl.Date(), "DATE", r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", "%Y-%m-%d")
TIMESTAMP = DataType(
    "timestamp",
    lambda pl: pl.Datetime("us"),
    "TIMESTAMP",
    # seconds 00-59: polars would read a leap second :60 as the next minute, 23:59:60 as the next day
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}:[0-5][0-9]$",
    "%Y-%m-%d %H:%M:%S",
)
# Exchange ticks: exactly three decimals of a second, as feeds write them
TIMESTAMP_MS = DataType(
    "timestamp(ms)",
    lambda pl: pl.Datetime("us"),
    "TIMESTAMP",
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}:[0-5][0-9]\.[0-9]{3}$",
    "%Y-%m-%d %H:%M:%S%.3f",
)
# PostgreSQL's `integer`: ASCII digits only, with an optional sign
INTEGER = DataType("integer", lambda pl: pl.Int32(), "INTEGER", r"^[+-]?[0-9]+$", bounds=(-(2**31), 2**31 - 1))
TEXT_LIST = DataType("list<string>", lambda pl: pl.List(pl.String()), "VARCHAR[]", None)
BOOL = DataType("bool", lambda pl: pl.Boolean(), "BOOLEAN", r"(?i)^(true|false|yes|no|1|0)$")
# A JSON document a gold model builds with DuckDB's json functions (PostgreSQL's jsonb). Parquet marks the column
# JSON, which polars reads as bytes: `read_table` gives it back as the text polars calls it here. Silver has no
# JSON parser, so no silver contract may declare it (see Table).
JSON = DataType("json", lambda pl: pl.String(), "JSON", None)


def decimal(precision: int, scale: int) -> DataType:
    """Exact numbers (money, energy). Text with more decimals than `scale` is rejected, never rounded."""
    whole = precision - scale
    return DataType(
        f"decimal({precision},{scale})",
        lambda pl: pl.Decimal(precision, scale),
        f"DECIMAL({precision},{scale})",
        rf"^[+-]?[0-9]{{1,{whole}}}(\.[0-9]{{1,{scale}}})?$",
    )


@dataclass(frozen=True)
class Column:
    name: str
    type: DataType
    description: str
    nullable: bool = False
    min: float | int | dt.date | None = None
    max: float | int | dt.date | None = None
    allowed: tuple[str, ...] | None = None
    pattern: str | None = None
    max_length: int | None = None  # characters, as a varchar(n) holds them
    # Match the raw value to its canonical spelling ignoring case, spaces and punctuation ("a1 " -> "A-1"),
    # against `allowed` or the referenced parent column.
    normalize: bool = False
    # False for columns computed by the pipeline rather than read from bronze.
    source: bool = True


@dataclass(frozen=True)
class ForeignKey:
    columns: tuple[str, ...]
    table: str  # a table of the same layer and domain
    to: tuple[str, ...]
    # parent columns the table's row checks may read, e.g. a trade's date against its client's opening date
    brings: tuple[str, ...] = ()

    @property
    def rule(self) -> str:
        return f"fk:{self.table}"


@dataclass(frozen=True)
class Check:
    """A row rule as a SQL expression that must not be false; polars and DuckDB both evaluate it."""

    name: str
    sql: str
    description: str


@dataclass(frozen=True)
class Audit:
    """A gold-only rule: a query returning offending rows; zero rows means pass."""

    name: str
    sql: str
    description: str


@dataclass(frozen=True)
class Partition:
    """A partition column derived from a time column, e.g. month = strftime(reading_ts, '%Y-%m')."""

    column: str
    source: str
    format: str = "%Y-%m"
    # Rows carry state from earlier partitions (a running total, an indicator's recursion, a session crossing
    # midnight): a change rebuilds its partition and every later one, starting from the state before it.
    sequential: bool = False
    missing: str | None = None  # the partition of rows whose source is null (a file without a date in its name)


@dataclass(frozen=True)
class SplitViews:
    """A catalog view per row of a table, as a source kept a table per agency: named by the row's `name_column`,
    it selects `columns` of `source` (a table of the same layer and domain, partitioned by `on`) in the partition
    of the row's `on`."""

    name_column: str
    source: str
    on: str
    columns: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    layer: str  # "silver" or "gold"
    domain: str
    name: str
    description: str  # the grain: what one row means
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    foreign_keys: tuple[ForeignKey, ...] = ()
    # alternate keys: other columns unique in the table (a city's stable number as well as its name); silver keeps
    # the earliest row of each as of the key, and gold checks them; only for unpartitioned tables
    unique: tuple[tuple[str, ...], ...] = ()
    # the key does not fix the partition (a trade's id, whose month is its date's): silver keeps it unique across
    # partitions too, reading every partition's keys on each run that changes the table
    key_across_partitions: bool = False
    checks: tuple[Check, ...] = ()
    audits: tuple[Audit, ...] = ()
    partition: Partition | None = None
    catalog_schema: str | None = None  # the schema users query it in, when not <layer>_<domain>
    bronze_formats: tuple[str, ...] = ("csv",)  # file types producers drop: "csv", and "xlsx" for workbooks
    # a silver table computed from other silver tables by a job of its own (trade settlements), not read from bronze
    computed: bool = False
    # the folder under bronze/<domain>/ producers drop its files in, when not the table's name
    bronze_folder: str | None = None
    # each gold file's rows in this order, in small row groups: Parquet statistics then let a lookup by these
    # columns read a row group or two (the lake's equivalent of an index)
    sorted_by: tuple[str, ...] = ()
    split_views: SplitViews | None = None
    # bronze files sharing a quarantine file, for producers dropping many small files: this regular expression's
    # match at the start of a file's path (under bronze/) names the file's group; a file it does not match has a
    # quarantine file of its own. Each Parquet file costs about 1 ms to write and as much to read back, whatever
    # it holds: thousands of agency files a day share one a day, a year of daily payments files one a month.
    quarantine_group: str | None = None
    column_index: dict[str, Column] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index = {c.name: c for c in self.columns}
        object.__setattr__(self, "column_index", index)
        unknown = [n for n in self.key if n not in index and n != SOURCE_FILE]
        for fk in self.foreign_keys:
            unknown += [n for n in fk.columns if n not in index]
        if self.partition:
            unknown += [n for n in (self.partition.column, self.partition.source) if n not in index]
        unknown += [n for n in self.sorted_by if n not in index]
        unknown += [n for columns in self.unique for n in columns if n not in index]
        if self.unique and self.partition:
            raise ValueError(f"contract {self.qualified_name}: alternate keys need an unpartitioned table")
        if self.layer != "gold" and any(c.type is JSON for c in self.columns):
            raise ValueError(f"contract {self.qualified_name}: JSON columns are built by gold models only")
        if unknown:
            raise ValueError(f"contract {self.qualified_name} names unknown columns {unknown}")

    @property
    def schema(self) -> str:
        """The catalog schema, e.g. silver_meters."""
        return self.catalog_schema or f"{self.layer}_{self.domain}"

    @property
    def qualified_name(self) -> str:
        """The catalog name, e.g. silver_meters.readings."""
        return f"{self.schema}.{self.name}"

    @property
    def source_columns(self) -> list[Column]:
        """The columns read from bronze (none for a computed table)."""
        return [] if self.computed else [c for c in self.columns if c.source]

    @property
    def bronze_dir_name(self) -> str:
        return self.bronze_folder or self.name

    @property
    def lineage(self) -> list[str]:
        """The columns besides its contract's that say where each stored row came from (silver rows read from
        bronze); none for gold and computed tables."""
        if self.layer != "silver" or self.computed:
            return []
        return [SOURCE_FILE, SOURCE_SHEET, SOURCE_LINE] if self.takes_workbooks else [SOURCE_FILE, SOURCE_LINE]

    @property
    def takes_workbooks(self) -> bool:
        """Rows may come from workbook sheets, so their lineage names the sheet as well as the file and row."""
        return "xlsx" in self.bronze_formats

    def column(self, name: str) -> Column:
        return self.column_index[name]

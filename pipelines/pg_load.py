"""Building a table aside for the PostgreSQL export: `<table>__new` (or the changed partitions, each a table of its
own) created from the contract, filled from DuckDB's Arrow stream by the ADBC driver's binary COPY, then keyed,
indexed, constrained and analysed over the loaded rows. pipelines/pg_swap.py then publishes what was built."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

import contracts
from contracts.schema import Table
from core.lake import Lake
from core.store import TableStore
from pipelines.pg_shapes import NEW, partitioning, primary_key, shape_of
from pipelines.pg_types import create_table_sql, fitted, foreign_key_sql, identifier

BATCH_ROWS = 131_072
# A large table is loaded by several connections at once: the driver encodes rows on the client while the server
# parses them, and one stream leaves a core idle for part of the time. Each stream takes a hash slice of the key.
STREAM_ROWS = 500_000
STREAMS = min(4, os.cpu_count() or 1)


@dataclass
class Job:
    """One table to publish, by one of four modes: "swap" builds it whole aside and renames it in (a new table, a
    new shape, or a table nothing else in the database depends on); "merge" builds it aside and writes the
    difference into the published table, which keeps its identity, so the foreign keys and views that depend on it
    stay; "partial" replaces the changed partitions of a partitioned table; "refresh" refreshes a materialized
    view concurrently."""

    table: Table
    schema: str
    mode: str  # "swap", "merge", "partial" or "refresh"
    version: str
    fingerprint: str
    partitions: dict[str, str] = field(default_factory=dict)  # lake partition -> the lake version that wrote it
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)  # partition -> its table's name
    old_names: dict[str, str] = field(default_factory=dict)  # the names the database holds them under
    rows: int = 0
    seconds: float = 0.0  # building aside; the swap is the domain's
    load_seconds: float = 0.0  # of which loading the rows and keying them

    @property
    def name(self) -> str:
        return self.table.name


class Loader:
    """Builds jobs aside in one schema, over the export's connection (and, for large tables, more of them)."""

    def __init__(self, lake: Lake, connect: Any, db: Any, cursor: Any, duck: Any, schema: str):
        self.lake, self.connect, self.db, self.cursor, self.duck, self.schema = lake, connect, db, cursor, duck, schema

    def load(self, job: Job, modes: dict[str, str]) -> None:
        """Build `<table>__new` (or, for a partial export, the changed partitions) aside, filled and complete."""
        table, scheme = job.table, partitioning(job.table)
        if shape_of(table).materialized_view:
            return  # created in the swap, from the swapped tables
        started = time.monotonic()
        if not scheme:
            job.rows = self._fill(job, table.name, None, modes)
        else:
            named = self._partition_names(table)
            values = sorted(job.partitions if job.mode == "swap" else job.changed)
            for value in values:
                job.names[value] = named.get(value) or fitted(f"{table.name}_{value}")
                job.rows += self._fill(job, job.names[value], value, modes)
            if job.mode == "swap":  # an empty partitioned parent, keyed and indexed, then its filled partitions
                parent = self._target(table.name + NEW)
                key_name = fitted(table.name + "_pkey") + NEW
                self.cursor.execute(
                    create_table_sql(
                        table, job.schema, table.name + NEW, primary_key(table), key_name, " " + scheme.clause()
                    )  # fmt: skip
                )
                self._index(table, table.name + NEW, {i.name: i.name + NEW for i in shape_of(table).indexes})
                self._constrain(job, table.name + NEW, modes)
                for value in values:
                    partition = self._target(job.names[value] + NEW)
                    self.cursor.execute(f"alter table {parent} attach partition {partition} {scheme.bounds(value)}")
                self.cursor.execute(f"analyze {parent}")
        self.db.commit()
        job.seconds += time.monotonic() - started

    def _fill(self, job: Job, published: str, partition: str | None, modes: dict[str, str]) -> int:
        """Load the table (or one partition of it, as a table of its own) into `<published>__new`, then key,
        index, constrain and analyse it: indexes and foreign keys built once over the loaded rows, not row by row.
        A partition also gets its bounds as a CHECK constraint, so that ATTACH finds them proven and scans
        nothing."""
        table, name = job.table, published + NEW
        started = time.monotonic()
        self.cursor.execute(create_table_sql(table, job.schema, name, key=()))
        rows = self._ingest(job, name, partition)
        key = ", ".join(identifier(k) for k in primary_key(table))
        self.cursor.execute(
            f"alter table {self._target(name)} add constraint {identifier(fitted(published + '_pkey') + NEW)} "
            f"primary key ({key})"
        )
        job.load_seconds += time.monotonic() - started
        if partition is None:
            self._index(table, name, {i.name: i.name + NEW for i in shape_of(table).indexes})
        else:
            check = partitioning(table).check(partition)
            bounds = identifier(fitted(published + "_bounds"))
            self.cursor.execute(f"alter table {self._target(name)} add constraint {bounds} {check}")
            indexes = shape_of(table).indexes
            self._index(table, name, {i.name: fitted(f"{published}_{'_'.join(i.columns)}_idx") + NEW for i in indexes})
        self._constrain(job, name, modes)
        self.cursor.execute(f"analyze {self._target(name)}")
        self.db.commit()
        return rows

    def _index(self, table: Table, name: str, names: dict[str, str]) -> None:
        """The shape's indexes on `name`, each under the name `names` gives it."""
        for index in shape_of(table).indexes:
            columns = ", ".join(identifier(c) for c in index.columns)
            self.cursor.execute(f"create index {identifier(names[index.name])} on {self._target(name)} ({columns})")

    def _constrain(self, job: Job, name: str, modes: dict[str, str]) -> None:
        """The contract's foreign keys: to a parent swapped beside this table, its new version (the two are renamed
        together); to a parent merged in the same swap, none yet (the swap adds them, or ATTACH does for a
        partition, once the parent holds its new rows); else the published parent."""
        for fk in job.table.foreign_keys:
            if modes.get(fk.table) == "merge":
                continue
            parent = fk.table + NEW if modes.get(fk.table) == "swap" else fk.table
            self.cursor.execute(
                f"alter table {self._target(name)} add {foreign_key_sql(job.table, fk, self.schema, parent)}"
            )

    def _ingest(self, job: Job, name: str, partition: str | None) -> int:
        """Stream the table (or one partition) from DuckDB into `name`, cast to the contract's exact types; a
        large one in STREAMS slices over as many connections, each committing its own rows into the table built
        aside (a failure leaves it to the next export's clean-up, as any other failure does)."""
        table = job.table
        columns = ", ".join(f"cast({c.name} as {c.type.duckdb}) as {c.name}" for c in table.columns)
        where, params = [], []
        if partition is not None:
            where, params = [f"{table.partition.column} = ?"], [partition]
        select = f"select {columns} from {table.qualified_name}"
        rows = TableStore(self.lake, table).state().get("rows") or 0
        streams = STREAMS if rows >= STREAM_ROWS and partition is None else 1
        if streams == 1:
            reader = self.duck.sql(f"{select}{_where(where)}", params=params)
            return self.cursor.adbc_ingest(name, _as_postgres(reader, table), mode="append", db_schema_name=job.schema)
        self.db.commit()  # the other connections must see the table
        key = ", ".join(table.key)

        def load(slice_: int) -> int:
            duck = self.duck.cursor()
            reader = duck.sql(f"{select}{_where([*where, f'hash({key}) % {streams} = {slice_}'])}", params=params)
            with self.connect() as db, db.cursor() as cursor:
                loaded = cursor.adbc_ingest(name, _as_postgres(reader, table), mode="append", db_schema_name=job.schema)
                db.commit()
            duck.close()
            return loaded

        with ThreadPoolExecutor(streams) as pool:
            return sum(pool.map(load, range(streams)))

    def _partition_names(self, table: Table) -> dict[str, str]:
        """The tables the source kept per partition value (`customer_rating_agency_a`, from the table declaring
        them as split views); other partitions are named `<table>_<value>` (`transactions_2024`)."""
        for other in contracts.tables(table.layer, table.domain):
            split = other.split_views
            if split and split.source == table.name and split.on == table.partition.column:
                rows = self.duck.sql(f"select {split.on}, {split.name_column} from {other.qualified_name}").fetchall()
                return {value: fitted(name) for value, name in rows}
        return {}

    def _target(self, name: str) -> str:
        return f"{identifier(self.schema)}.{identifier(name)}"


def _where(conditions: list[str]) -> str:
    return f" where {' and '.join(conditions)}" if conditions else ""


def _as_postgres(relation: Any, table: Table) -> pa.RecordBatchReader:
    """A DuckDB relation's Arrow stream as the driver must see it: JSON columns typed as Arrow's JSON extension,
    which the driver writes as jsonb (as plain strings, PostgreSQL's binary COPY refuses them)."""
    reader = relation.to_arrow_reader(batch_size=BATCH_ROWS)
    json_columns = [i for i, c in enumerate(table.columns) if c.type.duckdb == "JSON"]
    if not json_columns:
        return reader
    fields = [pa.field(f.name, pa.json_()) if i in json_columns else f for i, f in enumerate(reader.schema)]
    schema = pa.schema(fields)

    def batches() -> Iterator[pa.RecordBatch]:
        for batch in reader:
            arrays = [
                pa.ExtensionArray.from_storage(pa.json_(), column) if i in json_columns else column
                for i, column in enumerate(batch.columns)
            ]
            yield pa.RecordBatch.from_arrays(arrays, schema=schema)

    return pa.RecordBatchReader.from_batches(schema, batches())

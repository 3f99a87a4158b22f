"""Gold models on Apache Spark: a session (local, or a cluster's through Spark Connect) that sees the lake's tables
under their DuckDB catalog names, a model's transpiled SQL run on it, and its rows written as DuckDB writes them.

Spark reads the lake's Parquet as it is: a table partitioned Hive-style keeps its partition column in folder names
only (`month=2024-01`), read back as text, as DuckDB and polars read it. What it writes has the contract's columns
and types, the layout DuckDB's engine gives (engines/duckdb_engine.py) and nothing else (no _SUCCESS, no .crc), so
that DuckDB checks it and readers cannot tell which engine built a table.
"""

from __future__ import annotations

import logging
import shutil
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.parquet as pq
from py4j.protocol import Py4JError
from pyspark.errors import PySparkException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

import contracts
from contracts.schema import JSON, Table
from core.duck import QUARANTINE_SCHEMA
from core.lake import Lake
from core.store import LOOKUP_ROW_GROUP, ZSTD_LEVEL, TableStore

if TYPE_CHECKING:
    from gold.models import Model

LOG_CONFIG = Path(__file__).with_name("log4j2.properties")

# The contract's DuckDB types as Spark writes them to Parquet for DuckDB to read back the same (decimals map as they
# are). Spark has no JSON type: a JSON column is text to Spark, marked JSON in the files once written (_arrange).
SPARK_TYPES = {
    "BIGINT": "bigint", "INTEGER": "int", "DOUBLE": "double", "DATE": "date", "TIMESTAMP": "timestamp_ntz",
    "BOOLEAN": "boolean", "VARCHAR": "string", "VARCHAR[]": "array<string>", "JSON": "string",
}  # fmt: skip
# Settings a session may change (a Spark Connect client's included): UTC, microsecond timestamps in Parquet, partitions
# whose values are text, as DuckDB and polars read them
SESSION_CONFIG = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    "spark.sql.sources.partitionColumnTypeInference.enabled": "false",
    "spark.sql.hive.manageFilesourcePartitions": "false",  # the folders there are now: a stable path moves
}


def session(master: str = "local[2]", remote: str | None = None) -> SparkSession:
    """A local SparkSession (in-memory catalog, quiet, no UI), or a Spark Connect client of `remote`
    (sc://HOST:15002), whose server's own settings stand."""
    # pyspark loads its test helpers, which warn that pandas 3 is not fully supported: the lake gives Spark no pandas
    warnings.filterwarnings("ignore", "PySpark does not yet fully support pandas", FutureWarning)
    if remote:
        spark = SparkSession.builder.remote(remote).appName("lakehouse").getOrCreate()
    else:
        spark = (
            SparkSession.builder.master(master)
            .appName("lakehouse")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.catalogImplementation", "in-memory")
            .config("spark.sql.shuffle.partitions", "4")
            .config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile={LOG_CONFIG.as_uri()}")
            .getOrCreate()
        )
        spark.sparkContext.setLogLevel("ERROR")
    for key, value in SESSION_CONFIG.items():
        spark.conf.set(key, value)
    for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):  # pyspark logs what it raises, Java stack
        logging.getLogger(name).setLevel(logging.CRITICAL)  # and all: the caller gets the error as an exception
    return spark


def register(spark: SparkSession, lake: Lake) -> list[str]:
    """A catalog table for every published table of the lake, named as in DuckDB's catalog (`silver_meters.readings`,
    `quarantine_meters.readings`, `gold_meters.dim_meter`, `prepared_layers.forex_ohlc_m1`); returns their names."""
    published = [table for table in contracts.tables() if TableStore(lake, table).state() is not None]
    return [name for table in published for name in register_table(spark, lake, table)]


def register_table(spark: SparkSession, lake: Lake, table: Table) -> list[str]:
    """(Re)register one published table at its stable path, with its quarantine for a silver table."""
    locations = {table.qualified_name: lake.table_path(table)}
    if table.layer == "silver" and not table.computed:
        locations[f"{QUARANTINE_SCHEMA}{table.domain}.{table.name}"] = lake.quarantine_path(table)
    for name, path in locations.items():
        _make_way(spark, name)
        spark.sql(f"create table {name} using parquet location {_literal(str(path))}")
    return list(locations)


def register_empty(spark: SparkSession, table: Table) -> None:
    """A view with the table's columns and no rows: what a model reads of a table not built yet (a model carrying
    state reads its own)."""
    columns = ", ".join(f"cast(null as {spark_type(c.type.duckdb)}) as `{c.name}`" for c in table.columns)
    _make_way(spark, table.qualified_name)
    spark.sql(f"create view {table.qualified_name} as select {columns} where false")


def _make_way(spark: SparkSession, name: str) -> None:
    """Free `name` (a table or a view) in its database, which then exists."""
    spark.sql(f"create database if not exists {name.split('.')[0]}")
    if spark.catalog.tableExists(name):
        kind = "view" if spark.catalog.getTable(name).tableType == "VIEW" else "table"
        spark.sql(f"drop {kind} {name}")


def run_model(spark: SparkSession, sql: str, rebuild_from: str | None = None) -> DataFrame:
    """A model's rows from its Spark SQL (lazy: nothing runs until they are read). `rebuild_from`: the first
    partition a partitioned model rebuilds (None: all), what DuckDB's models read as getvariable('rebuild_from')."""
    spark.sql("declare or replace variable rebuild_from string default null")
    spark.sql("set var rebuild_from = :value", args={"value": rebuild_from})
    return spark.sql(sql)


class SparkEngine:
    """Builds every gold model for gold/build.py; the session starts at the first model it builds, so that a run with
    nothing to build does not wait for it."""

    name = "spark"
    errors = (PySparkException, Py4JError)

    def __init__(
        self, lake: Lake, translate: Callable[[Model], str], master: str = "local[*]", remote: str | None = None
    ):
        """`translate` gives a model's Spark SQL (gold/transpile.py's, passed in: engines sit below gold)."""
        self.lake, self.translate, self.master, self.remote = lake, translate, master, remote
        self.spark: SparkSession | None = None

    def write(self, model: Model, directory: Path, rebuild: set[str] | None) -> dict[str, int]:
        """As DuckDB's engine writes: one file ordered by key for an unpartitioned table, else a Hive folder per
        partition (those in `rebuild` when given), one file each; an empty result is one empty file."""
        if self.spark is None:
            self.spark = self._start()
        table = model.table
        frame = run_model(self.spark, self.translate(model), min(rebuild) if rebuild else None).select(
            *[F.col(f"`{c.name}`").cast(spark_type(c.type.duckdb)).alias(c.name) for c in table.columns]
        )
        staging = directory.with_name(f"{directory.name}.spark")
        if table.partition is None:
            _write(frame.repartition(1).sortWithinPartitions(*(table.sorted_by or table.key)), staging, table)
        else:
            column = table.partition.column
            if rebuild is not None:
                frame = frame.where(F.col(column).isin(sorted(rebuild)))
            # one task per partition value, so one file per folder; sorted by the column first, as the writer wants
            frame = frame.repartition(column).sortWithinPartitions(column, *table.sorted_by)
            _write(frame, staging, table, column)
            if not any(staging.rglob("*.parquet")):  # no rows: keep the table readable, empty
                shutil.rmtree(staging)
                _write(frame.limit(0).coalesce(1), staging, table)
        return _arrange(staging, directory, table)

    def _start(self) -> SparkSession:
        spark = session(self.master, self.remote)
        register(spark, self.lake)
        for table in contracts.tables():
            if TableStore(self.lake, table).state() is None:
                register_empty(spark, table)
        return spark

    def published(self, table: Table) -> None:
        if self.spark is not None:
            register_table(self.spark, self.lake, table)

    def close(self) -> None:
        if self.spark is not None:
            self.spark.stop()


def spark_type(duckdb_type: str) -> str:
    return SPARK_TYPES.get(duckdb_type) or duckdb_type.lower()  # DECIMAL(p,s) is decimal(p,s)


def _write(frame: DataFrame, path: Path, table: Table, partition: str | None = None) -> None:
    writer = frame.write.option("compression", "zstd").option("parquet.compression.codec.zstd.level", ZSTD_LEVEL)
    if table.sorted_by:  # small row groups for lookups, as DuckDB's engine writes them
        writer = writer.option("parquet.block.row.count.limit", LOOKUP_ROW_GROUP)
    (writer.partitionBy(partition) if partition else writer).parquet(str(path))


def _arrange(staging: Path, directory: Path, table: Table) -> dict[str, int]:
    """Move the Parquet files Spark wrote in `staging` into `directory` as `part-<n>.parquet`, and leave the rest
    (_SUCCESS, checksums); returns the rows per folder ('' for the directory itself)."""
    json_columns = {c.name for c in table.columns if c.type is JSON}
    rows: dict[str, int] = {}
    files: dict[str, int] = {}
    for file in sorted(staging.rglob("*.parquet")):
        folder = "" if file.parent == staging else file.parent.name
        (directory / folder).mkdir(parents=True, exist_ok=True)
        rows[folder] = rows.get(folder, 0) + pq.read_metadata(file).num_rows
        files[folder] = files.get(folder, 0) + 1
        target = directory / folder / f"part-{files[folder] - 1}.parquet"
        if json_columns:
            _mark_json(file, target, json_columns)
        else:
            file.rename(target)
    shutil.rmtree(staging)
    return rows


def _mark_json(source: Path, target: Path, columns: set[str]) -> None:
    """`source` rewritten to `target` with `columns` typed JSON (Parquet's logical type, what DuckDB writes and reads
    as JSON), batch by batch."""
    with pq.ParquetFile(source) as parquet:
        schema = pa.schema([pa.field(f.name, pa.json_()) if f.name in columns else f for f in parquet.schema_arrow])
        with pq.ParquetWriter(target, schema, compression="zstd", compression_level=ZSTD_LEVEL) as writer:
            for batch in parquet.iter_batches():
                writer.write_batch(batch.cast(schema))


def _literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"

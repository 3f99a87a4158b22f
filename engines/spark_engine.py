"""Gold models on Apache Spark (a prototype): a local session that sees the lake's tables under their DuckDB catalog
names, and a model's transpiled SQL run on it.

Spark reads the lake's Parquet as it is: a table partitioned Hive-style keeps its partition column in folder names
only (`month=2024-01`), read back as text, as DuckDB and polars read it.
"""

from __future__ import annotations

import logging
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession

import contracts
from core.duck import QUARANTINE_SCHEMA
from core.lake import Lake
from core.store import TableStore
from gold.models import Model
from gold.transpile import spark_sql

LOG_CONFIG = Path(__file__).with_name("log4j2.properties")
# Models that do not run on Spark yet: the forex indicators are a recursion over ordered lists, and the open CDR
# runs an ASOF join whose portable form is slower on DuckDB (the README says what each needs)
DUCKDB_ONLY = frozenset(
    {"prepared_layers.forex_ohlc_m1", "prepared_layers.forex_ohlc_m30", "prepared_layers.forex_ohlc_h1",
     "prepared_layers.cdr_open_runs"}
)  # fmt: skip


def session(master: str = "local[2]") -> SparkSession:
    """A local SparkSession: in-memory catalog, UTC, microsecond timestamps in Parquet, quiet, no UI."""
    spark = (
        SparkSession.builder.master(master)
        .appName("lakehouse")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.catalogImplementation", "in-memory")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
        # partitions are the folders there are now (a table's stable path moves to each new version), their values
        # text, as DuckDB and polars read them
        .config("spark.sql.hive.manageFilesourcePartitions", "false")
        .config("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile={LOG_CONFIG.as_uri()}")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):  # pyspark logs what it raises, Java stack
        logging.getLogger(name).setLevel(logging.CRITICAL)  # and all: the caller gets the error as an exception
    return spark


def register(spark: SparkSession, lake: Lake) -> list[str]:
    """A catalog table for every published table of the lake, named as in DuckDB's catalog (`silver_meters.readings`,
    `quarantine_meters.readings`, `gold_meters.dim_meter`, `prepared_layers.forex_ohlc_m1`); returns their names."""
    names = []
    for table in contracts.tables():
        if TableStore(lake, table).state() is None:
            continue
        locations = {table.qualified_name: lake.table_path(table)}
        if table.layer == "silver" and not table.computed:
            locations[f"{QUARANTINE_SCHEMA}{table.domain}.{table.name}"] = lake.quarantine_path(table)
        for name, path in locations.items():
            spark.sql(f"create database if not exists {name.split('.')[0]}")
            spark.sql(f"drop table if exists {name}")
            spark.sql(f"create table {name} using parquet location {_literal(str(path))}")
            names.append(name)
    return names


def run_model(spark: SparkSession, model: Model, rebuild_from: str | None = None) -> DataFrame:
    """The model's rows, from its transpiled SQL (lazy: nothing runs until they are read). `rebuild_from`: the first
    partition a partitioned model rebuilds (None: all), what DuckDB's models read as getvariable('rebuild_from')."""
    spark.sql("declare or replace variable rebuild_from string default null")
    spark.sql("set var rebuild_from = :value", args={"value": rebuild_from})
    return spark.sql(spark_sql(model))


def _literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"

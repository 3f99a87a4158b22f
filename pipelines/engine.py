"""The engine a run builds gold models with: DuckDB (the default), or Spark for a lake that outgrows one machine.

Which engine, and whether it can start (pyspark, and Java for a local session), is settled before any work: a run
asked for Spark on a machine without it stops at once in one line, not after silver has run for minutes.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import LakehouseError
from core.lake import Lake

if TYPE_CHECKING:
    from gold.build import Engine

ENGINES = ("duckdb", "spark")


def check_engine(engine: str, spark_remote: str | None) -> None:
    """Refuse an unknown engine, or Spark without what it needs here."""
    if engine not in ENGINES:
        raise LakehouseError(f"unknown engine {engine!r}; engines: {', '.join(ENGINES)}")
    if engine != "spark":
        return
    needed = {"pyspark": "pyspark", "sqlglot": "sqlglot"} | ({"grpc": "grpcio"} if spark_remote else {})
    missing = [package for module, package in needed.items() if importlib.util.find_spec(module) is None]
    if missing:
        raise LakehouseError(f"--engine spark needs {', '.join(missing)}: pip install -e '.[spark]'")
    if not spark_remote and _java() is None:
        raise LakehouseError(
            "--engine spark needs Java 17 or later for a local session (Debian: apt-get install default-jre-headless), "
            "or a Spark Connect server (--spark-remote sc://HOST:15002)"
        )


def gold_engine(lake: Lake, engine: str, spark_master: str, spark_remote: str | None) -> Engine | None:
    """The engine that builds the gold models, if not DuckDB (None: DuckDB builds them)."""
    if engine != "spark":
        return None
    from engines.spark_engine import SparkEngine
    from gold.transpile import spark_sql

    return SparkEngine(lake, spark_sql, spark_master, spark_remote)


def _java() -> str | None:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return str(Path(home) / "bin" / "java")
    return shutil.which("java")

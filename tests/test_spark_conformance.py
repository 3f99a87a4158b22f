"""Conformance of the Spark engine: every gold model, transpiled from its one DuckDB source (gold/transpile.py), gives
the rows DuckDB built, over one small lake per domain; decimals exact, floats within 1e-9 relative.

Needs Java and the `spark` extra; skipped without them, except where LAKEHOUSE_SPARK_TESTS=required (CI)."""

from __future__ import annotations

import decimal
import importlib.util
import math
import os
import shutil
from pathlib import Path

import pytest

from core.duck import connect
from core.lake import Lake
from gold.models import Model, models
from tests.conftest import built, run_lake, run_telecom

REQUIRED = os.environ.get("LAKEHOUSE_SPARK_TESTS") == "required"
NEEDS = {
    "pyspark and sqlglot (the spark extra)": all(importlib.util.find_spec(m) for m in ("pyspark", "sqlglot")),
    "Java (Debian's default-jre-headless)": shutil.which("java") is not None,
}
missing = [what for what, present in NEEDS.items() if not present]
if missing:
    if REQUIRED:
        pytest.fail(f"needs {' and '.join(missing)}, and LAKEHOUSE_SPARK_TESTS=required", pytrace=False)
    pytest.skip(f"needs {' and '.join(missing)}", allow_module_level=True)

from engines.spark_engine import register, run_model, session  # noqa: E402
from gold.transpile import spark_sql  # noqa: E402

IGNORED = {"created_at"}  # when the run wrote the row: differs by construction


@pytest.fixture(scope="module")
def spark(generated: Path, telecom_generated: Path, payments_lake: Lake, trades_lake: Lake, ratings_lake: Lake,
          tmp_path_factory: pytest.TempPathFactory):  # fmt: skip
    lakes = {
        "meters": built(generated, tmp_path_factory.mktemp("spark-meters"), run_lake),
        "telecom": built(telecom_generated, tmp_path_factory.mktemp("spark-telecom"), run_telecom),
        "payments": payments_lake, "trades": trades_lake, "ratings": ratings_lake,
    }  # fmt: skip
    spark = session()
    for lake in lakes.values():
        register(spark, lake)
    yield spark, lakes
    spark.stop()


def close_values(a: object, b: object) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) or isinstance(b, float):
        a, b = float(a), float(b)
        return (math.isnan(a) and math.isnan(b)) or a == b or abs(a - b) <= 1e-9 * max(abs(a), abs(b))
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(close_values(x, y) for x, y in zip(a, b))
    if isinstance(a, decimal.Decimal) or isinstance(b, decimal.Decimal):
        return decimal.Decimal(str(a)) == decimal.Decimal(str(b))
    return a == b


def row_order(row: tuple) -> tuple:
    return tuple((v is None, f"{v:.6e}" if isinstance(v, float) else str(v)) for v in row)


def _duckdb_rows(lake: Lake, model: Model, columns: list[str]) -> list[tuple]:
    con = connect(lake, split_views=False)
    try:
        return con.sql(f"select {', '.join(columns)} from {model.name}").fetchall()
    finally:
        con.close()


@pytest.mark.parametrize("model", [pytest.param(m, id=name) for name, m in models().items()])
def test_the_model_gives_duckdbs_rows_on_spark(spark, model: Model) -> None:
    session, lakes = spark
    frame = run_model(session, spark_sql(model))
    columns = [c.name for c in model.table.columns if c.name not in IGNORED]
    assert [c for c in frame.columns if c not in IGNORED] == columns  # the contract's columns, in order
    found = sorted((tuple(r) for r in frame.select(*[f"`{c}`" for c in columns]).collect()), key=row_order)
    expected = sorted(_duckdb_rows(lakes[model.table.domain], model, columns), key=row_order)
    assert len(found) == len(expected)
    for got, want in zip(found, expected):
        assert all(close_values(x, y) for x, y in zip(got, want)), (got, want)

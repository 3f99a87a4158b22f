"""`lakehouse bench --engine spark`: on a tiny lake, the comparison times gold on both engines and finds the same rows
in every model; never a speed. Without Spark, the bench is one line saying why.

The comparison needs Java and the `spark` extra, as tests/test_spark_conformance.py does."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from core.lake import Lake
from pipelines import bench_engines

REQUIRED = os.environ.get("LAKEHOUSE_SPARK_TESTS") == "required"  # CI: fail rather than skip
needs_spark = pytest.mark.skipif(
    bench_engines.spark_unavailable() is not None and not REQUIRED, reason="needs pyspark, sqlglot and Java"
)


@needs_spark
def test_both_engines_timed_and_rows_agree(ratings_lake: Lake, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    shutil.copytree(ratings_lake.root, lake, symlinks=True)
    result = bench_engines.compare(lake, "ratings")
    for engine in ("duckdb", "spark"):
        assert result[engine]["seconds"] > 0 and result[engine]["gold_seconds"] > 0
    assert result["spark_models"] > 0  # Spark built some of them itself, not DuckDB in its stead
    assert result["duckdb"]["models"] == result["spark"]["models"] and result["rows_agree"]
    assert result["ratio"] is not None


def test_without_spark_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setattr(bench_engines, "spark_unavailable", lambda: "--engine spark needs pyspark")
    assert bench_engines.bench_engines(Lake(tmp_path), workers=1) is None
    assert capsys.readouterr().out == "engine bench skipped: --engine spark needs pyspark\n"
    assert not (tmp_path / "_bench").exists()

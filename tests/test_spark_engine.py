"""`lakehouse run --engine spark`: a lake's gold tables built by Spark are DuckDB's, row for row, with the same columns
and types as DuckDB reads them, published the same way (a second run is up to date); models Spark does not build
are built by DuckDB, and the manifest says which engine built each.

Needs Java and the `spark` extra, as tests/test_spark_conformance.py does."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from core.duck import connect
from core.lake import Lake
from gold.models import models
from pipelines.cli import main
from pipelines.manifest import Manifest
from pipelines.run import RunOptions, run
from tests.test_spark_conformance import IGNORED, close_values, row_order  # skips this module where that one skips

DOMAINS = ("ratings", "payments")


def _spark_options(**options) -> RunOptions:
    return RunOptions(domains=DOMAINS, layers=("gold",), threads=2, engine="spark", spark_master="local[2]", **options)


@pytest.fixture(scope="module")
def lakes(
    ratings_lake: Lake, payments_lake: Lake, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Lake, Lake, Manifest]:
    """The DuckDB-built lake of both domains, and a copy of it whose gold Spark rebuilt from the same silver, with
    the manifest of that run."""
    duckdb_built = Lake(tmp_path_factory.mktemp("duckdb") / "lake")
    for lake in (ratings_lake, payments_lake):
        shutil.copytree(lake.root, duckdb_built.root, symlinks=True, dirs_exist_ok=True)
    spark_built = Lake(tmp_path_factory.mktemp("spark") / "lake")
    shutil.copytree(duckdb_built.root, spark_built.root, symlinks=True)
    manifest = run(spark_built, _spark_options(full_refresh=True), "test")
    assert manifest.status == "succeeded", manifest.error
    return duckdb_built, spark_built, manifest


def _table(lake: Lake, name: str) -> tuple[list, list]:
    con = connect(lake, split_views=False)
    try:
        described = [row[:2] for row in con.sql(f"describe {name}").fetchall()]
        columns = ", ".join(c for c, _ in described if c not in IGNORED)
        return described, sorted(con.sql(f"select {columns} from {name}").fetchall(), key=row_order)
    finally:
        con.close()


GOLD = [pytest.param(name, id=name) for name, m in models().items() if m.table.domain in DOMAINS]


@pytest.mark.parametrize("name", GOLD)
def test_spark_builds_duckdbs_gold_table(lakes: tuple[Lake, Lake, Manifest], name: str) -> None:
    duckdb_built, spark_built, _ = lakes
    (columns, found), (expected_columns, expected) = _table(spark_built, name), _table(duckdb_built, name)
    assert columns == expected_columns  # names and types, as DuckDB reads them
    assert len(found) == len(expected)
    for got, want in zip(found, expected):  # decimals exact, floats within 1e-9 relative
        assert all(close_values(x, y) for x, y in zip(got, want)), (got, want)


def test_the_manifest_names_the_engine_of_each_model(lakes: tuple[Lake, Lake, Manifest]) -> None:
    _, spark_built, manifest = lakes
    engines = {name: entry["engine"] for name, entry in manifest.gold.items()}
    assert engines == {name: "duckdb" if name == "gold_ratings.file_invalid_rows" else "spark" for name in engines}
    assert set(engines) == {name for name, m in models().items() if m.table.domain in DOMAINS}


def test_a_second_spark_run_is_up_to_date(lakes: tuple[Lake, Lake, Manifest]) -> None:
    _, spark_built, _ = lakes
    manifest = run(spark_built, _spark_options(), "test")
    assert {entry["status"] for entry in manifest.gold.values()} == {"up_to_date"}


def test_an_unknown_engine_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--data-dir", str(tmp_path), "run", "--engine", "flink"]) == 2
    assert capsys.readouterr().err == "lakehouse: error: unknown engine 'flink'; engines: duckdb, spark\n"


def test_spark_without_java_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("LAKEHOUSE_ENGINE", "spark")
    assert main(["--data-dir", str(tmp_path), "run"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("lakehouse: error: --engine spark needs Java") and error.count("\n") == 1

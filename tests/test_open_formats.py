"""What the lake writes opens as it is in the tools users already have: pandas, pyarrow and polars read every table
folder (Hive-style partitions), a DuckDB 1.1 client reads the catalog, and a copied or moved lake never reads
another lake's files."""

from __future__ import annotations

import json
import shutil
import subprocess
import venv
from pathlib import Path

import duckdb
import pandas as pd
import polars as pl
import pyarrow.dataset as ds
import pytest

import contracts
from core.duck import connect
from core.lake import Lake
from generators.payments import generate as generate_payments
from pipelines.catalog import ensure_current
from pipelines.cli import main
from pipelines.run import RunOptions, run
from tests.conftest import SMALL_PAYMENTS

OLD_DUCKDB = "duckdb==1.1.3"  # the oldest client the catalog must open


@pytest.fixture(scope="session")
def every_domain(
    generated: Path,
    telecom_generated: Path,
    trades_generated: Path,
    ratings_generated: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Lake:
    """One lake with every domain built (copy it, symlinks=True, before changing anything)."""
    lake = Lake(tmp_path_factory.mktemp("every-domain") / "lake")
    for source in (generated, telecom_generated, trades_generated, ratings_generated):
        shutil.copytree(source / "bronze", lake.bronze, dirs_exist_ok=True)
    generate_payments(lake, SMALL_PAYMENTS, workers=1)
    run(lake, RunOptions(threads=2), "test")
    return lake


def catalog_facts(lake: Lake) -> dict[str, tuple[int, set[str]]]:
    """Rows and columns of every table, as the catalog's views give them."""
    con = connect(lake)
    try:
        facts = {}
        for table in contracts.tables():
            name = table.qualified_name
            rows = con.execute(f"select count(*) from {name}").fetchall()[0][0]
            columns = {row[0] for row in con.execute(f"describe {name}").fetchall()}
            facts[name] = (rows, columns)
        return facts
    finally:
        con.close()


def test_every_table_opens_in_pandas_pyarrow_and_polars(every_domain: Lake) -> None:
    expected = catalog_facts(every_domain)
    assert len(expected) == len(contracts.tables())
    partitioned = 0
    for table in contracts.tables():
        path = every_domain.table_path(table)
        rows, columns = expected[table.qualified_name]
        assert columns == {c.name for c in table.columns} | set(table.lineage), table.qualified_name
        frame = pd.read_parquet(path)
        assert (len(frame), set(frame.columns)) == (rows, columns), f"pandas: {table.qualified_name}"
        dataset = ds.dataset(path, format="parquet", partitioning="hive")
        assert (dataset.count_rows(), set(dataset.schema.names)) == (rows, columns), f"pyarrow: {table.qualified_name}"
        scanned = pl.scan_parquet(path, hive_partitioning=True)
        assert scanned.select(pl.len()).collect().item() == rows, f"polars: {table.qualified_name}"
        assert set(scanned.collect_schema().names()) == columns, f"polars: {table.qualified_name}"
        if table.partition and rows:
            partitioned += 1
            files = sorted(path.glob("*/*.parquet"))
            assert files and all(table.partition.column not in pl.read_parquet_schema(f) for f in files)
    assert partitioned >= 10  # the test saw the partitioned tables it is about


def test_the_catalog_opens_in_a_duckdb_1_1_client(every_domain: Lake, tmp_path: Path) -> None:
    """The catalog in a DuckDB 1.1 client from PyPI, installed into a throwaway venv: every view answers, with the
    rows today's DuckDB counts, and its columns read."""
    environment = tmp_path / "duckdb-1.1"
    venv.create(environment, with_pip=True)
    python = environment / "bin" / "python"
    installed = subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", OLD_DUCKDB],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert installed.returncode == 0, installed.stderr
    script = """
import duckdb, json, sys
con = duckdb.connect(sys.argv[1], read_only=True)
views = con.execute("select schema_name || '.' || view_name from duckdb_views() where not internal").fetchall()
counts = {view: con.execute(f"select count(*) from {view}").fetchall()[0][0] for (view,) in views}
for (view,) in views:  # and every column's values, of every type (JSON too)
    con.execute(f"select * from {view} limit 1").fetchall()
print(json.dumps({duckdb.__version__: counts}))
"""
    answered = subprocess.run([python, "-c", script, str(every_domain.catalog)], capture_output=True, text=True)
    assert answered.returncode == 0, answered.stderr
    ((version, counts),) = json.loads(answered.stdout).items()
    assert version.startswith("1.1.")
    expected = {name: rows for name, (rows, _) in catalog_facts(every_domain).items()}
    assert {name: counts[name] for name in expected} == expected
    assert "gold_ratings.customer_rating_agency_a" in counts  # the per-agency views too


def test_a_copied_lake_never_reads_the_original(every_domain: Lake, tmp_path: Path) -> None:
    copy = Lake(tmp_path / "copy")
    shutil.copytree(every_domain.root, copy.root, symlinks=True)
    with pytest.raises(duckdb.Error, match="copied or moved"):  # opened directly, before any lakehouse command
        duckdb.connect(str(copy.catalog), read_only=True).execute("select count(*) from gold_meters.fact_readings")
    assert main(["--data-dir", str(copy.root), "sql", "select count(*) as n from gold_meters.fact_readings"]) == 0
    con = duckdb.connect(str(copy.catalog), read_only=True)  # repaired by that command
    definitions = " ".join(
        row[0] for row in con.execute("select sql from duckdb_views() where not internal").fetchall()
    )
    assert str(copy.root) in definitions and f"{every_domain.root}/" not in definitions
    assert con.execute("select count(*) from gold_meters.fact_readings").fetchall()[0][0] > 0


def test_a_moved_lake_fails_until_a_command_repairs_it(every_domain: Lake, tmp_path: Path) -> None:
    original = Lake(tmp_path / "original")
    shutil.copytree(every_domain.root, original.root, symlinks=True)
    ensure_current(original)
    moved = Lake(tmp_path / "moved")
    original.root.rename(moved.root)
    with pytest.raises(duckdb.Error, match=str(original.root)):  # DuckDB finds no files where they were
        duckdb.connect(str(moved.catalog), read_only=True).execute("select * from silver_payments.transactions")
    ensure_current(moved)
    rows = duckdb.connect(str(moved.catalog), read_only=True).execute(
        "select count(*) from silver_payments.transactions"
    )
    assert rows.fetchall()[0][0] > 0

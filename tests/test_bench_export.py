"""The export bench, end to end on a tiny lake: the export and psql \\copy both load the same rows and the report
holds both figures (how fast is the bench's business, never a test's)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.lake import Lake
from pipelines.bench_export import compare, psql_binary
from pipelines.pg_server import server_binaries
from tests.conftest import run_lake
from tests.postgres import REQUIRED, PostgresDsn

try:
    import adbc_driver_postgresql  # noqa: F401
except ImportError:
    if REQUIRED:
        raise
    pytest.skip("needs the postgres extra: pip install -e .[postgres]", allow_module_level=True)


def test_the_report_holds_both_loads_of_the_same_rows(
    postgres_server: PostgresDsn, lake_copy: Lake, tmp_path: Path
) -> None:
    psql = psql_binary(server_binaries())
    if psql is None:
        pytest.skip("needs psql")
    run_lake(lake_copy)
    report = compare(lake_copy, postgres_server, psql, tmp_path)
    assert report["table"] == "gold_meters.fact_readings"
    assert report["rows"] > 0 and report["columns"] == 13
    for load in (report["export"], report["psql_copy"]):
        assert load["seconds"] > 0 and load["rows_per_s"] > 0
    assert 0 < report["export"]["load_seconds"] < report["export"]["seconds"]  # the key, then the foreign keys
    assert report["ratio"] > 0 and report["whole_export_ratio"] > 0 and report["meets_target"] in (True, False)

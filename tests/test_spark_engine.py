"""`lakehouse run --engine spark`: a lake's gold tables built by Spark are DuckDB's, row for row, with the same columns
and types as DuckDB reads them, published the same way (a second run is up to date); a refresh on Spark carries
state from the version before as DuckDB's does; the manifest says which engine built each model.

Needs Java and the `spark` extra, as tests/test_spark_conformance.py does."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.duck import connect
from core.lake import Lake
from gold.models import models
from pipelines.cli import main
from pipelines.manifest import Manifest
from pipelines.pg_server import free_port
from pipelines.run import RunOptions, run
from tests.conftest import built, run_telecom
from tests.test_refresh import feed_files
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
    assert_same_table(spark_built, duckdb_built, name)


def assert_same_table(found_in: Lake, expected_in: Lake, name: str) -> None:
    (columns, found), (expected_columns, expected) = _table(found_in, name), _table(expected_in, name)
    assert columns == expected_columns, name  # names and types, as DuckDB reads them
    assert len(found) == len(expected), name
    for got, want in zip(found, expected):  # decimals exact, floats within 1e-9 relative
        assert all(close_values(x, y) for x, y in zip(got, want)), (name, got, want)


def test_a_spark_refresh_continues_duckdbs_build(telecom_generated: Path, tmp_path: Path) -> None:
    """Telecom's last window taken in on Spark, carrying state (the runs still open, the indicators' last bars) from
    the version DuckDB built of the windows before: the rows DuckDB builds of them all at once."""
    spark_built = Lake(tmp_path / "spark")
    shutil.copytree(telecom_generated, spark_built.root)
    last_window = max(p.name for p in feed_files(spark_built.root))
    held = {p: p.read_bytes() for p in feed_files(spark_built.root) if p.name == last_window}
    for path in held:
        path.unlink()
    run_telecom(spark_built)
    for path, text in held.items():
        path.write_bytes(text)
    options = RunOptions(domains=("telecom",), threads=2, engine="spark", spark_master="local[2]")
    manifest = run(spark_built, options, "test")
    assert manifest.status == "succeeded", manifest.error
    rebuilt = {name: entry for name, entry in manifest.gold.items() if entry["status"] == "built"}
    assert {entry["engine"] for entry in rebuilt.values()} == {"spark"}
    assert rebuilt["prepared_layers.forex_ohlc_m1"]["partitions_rebuilt"] == 1  # the new day only
    duckdb_built = built(telecom_generated, tmp_path / "duckdb", run_telecom)
    for name, model in models().items():
        if model.table.domain == "telecom":
            assert_same_table(spark_built, duckdb_built, name)


def test_the_manifest_names_the_engine_of_each_model(lakes: tuple[Lake, Lake, Manifest]) -> None:
    _, spark_built, manifest = lakes
    engines = {name: entry["engine"] for name, entry in manifest.gold.items()}
    assert set(engines.values()) == {"spark"}
    assert set(engines) == {name for name, m in models().items() if m.table.domain in DOMAINS}


@pytest.fixture(scope="module")
def connect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Spark Connect server on 127.0.0.1 (the one pyspark ships: its jars hold the server), in its own JVM."""
    import pyspark

    home = Path(pyspark.__file__).parent
    port = free_port()
    log = tmp_path_factory.mktemp("connect") / "server.log"
    command = [
        "bash", str(home / "sbin" / "start-connect-server.sh"), "--wait", "--master", "local[2]",
        "--conf", f"spark.connect.grpc.binding.port={port}", "--conf", "spark.connect.grpc.binding.address=127.0.0.1",
        "--conf", "spark.ui.enabled=false",
    ]  # fmt: skip
    with log.open("w") as out:  # its own process group: the script starts the JVM as a child, stopped with it
        server = subprocess.Popen(
            command, env={**os.environ, "SPARK_HOME": str(home)}, stdout=out, stderr=out, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 180
        while not _listening(port):
            assert server.poll() is None and time.monotonic() < deadline, log.read_text()[-2000:]
            time.sleep(0.5)
        yield f"sc://127.0.0.1:{port}"
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(60)


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_spark_connect_builds_duckdbs_gold(lakes: tuple[Lake, Lake, Manifest], connect_server: str, tmp_path: Path):
    """The same run through a Spark Connect client (`--spark-remote`): the server's executors write the versions."""
    duckdb_built, _, _ = lakes
    remote_built = Lake(tmp_path / "lake")
    shutil.copytree(duckdb_built.root, remote_built.root, symlinks=True)
    options = RunOptions(
        domains=("ratings",), layers=("gold",), full_refresh=True, engine="spark", spark_remote=connect_server
    )
    manifest = run(remote_built, options, "test")
    assert manifest.status == "succeeded", manifest.error
    assert {entry["engine"] for entry in manifest.gold.values()} == {"spark"}
    for name, model in models().items():
        if model.table.domain == "ratings":
            assert_same_table(remote_built, duckdb_built, name)


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

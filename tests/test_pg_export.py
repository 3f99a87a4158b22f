"""The PostgreSQL export on a real throwaway PostgreSQL 15: every gold table lands equal to the lake with its
contract's types and the seeds' shapes; swaps are atomic for readers; a killed export changes nothing and the next
one repairs it; a new year is a new partition and the summary view refreshes concurrently; an export with nothing
new touches nothing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import polars as pl
import pytest

import contracts
from contracts.schema import Table
from core.duck import connect
from core.errors import LakehouseError
from core.lake import Lake
from pipelines.pg_export import export
from pipelines.pg_shapes import SHAPES, partitioning, primary_key, shape_of
from pipelines.pg_types import column_type
from tests.conftest import built, run_lake, run_telecom, run_trades
from tests.postgres import PostgresDsn

adbc = pytest.importorskip("adbc_driver_postgresql.dbapi")


def query(dsn: PostgresDsn, sql: str, parameters: tuple = ()) -> list[tuple]:
    with adbc.connect(dsn.uri()) as db, db.cursor() as cursor:
        cursor.execute(sql, parameters or None)
        return cursor.fetchall()


def _comparable(table: Table, select: str) -> str:
    """Columns as both engines print them alike: decimals and JSON as text (JSON normalised afterwards)."""
    exact = ("DECIMAL", "JSON")
    return ", ".join(
        f"cast({c.name} as {'varchar' if select == 'duck' else 'text'}) as {c.name}"
        if c.type.duckdb.startswith(exact) else c.name
        for c in table.columns
    )  # fmt: skip


def _normalised(frame: pl.DataFrame, table: Table) -> pl.DataFrame:
    for column in table.columns:
        if column.type.duckdb == "JSON":
            canonical = lambda text: None if text is None else json.dumps(json.loads(text), sort_keys=True)  # noqa: E731
            frame = frame.with_columns(pl.col(column.name).map_elements(canonical, return_dtype=pl.String))
    return frame.sort(list(table.key))


def lake_rows(lake: Lake, table: Table) -> pl.DataFrame:
    con = connect(lake, split_views=False)
    try:
        arrow = con.sql(f"select {_comparable(table, 'duck')} from {table.qualified_name}").to_arrow_table()
    finally:
        con.close()
    return _normalised(pl.from_arrow(arrow), table)


def database_rows(dsn: PostgresDsn, table: Table, prefix: str) -> pl.DataFrame:
    with adbc.connect(dsn.uri()) as db, db.cursor() as cursor:
        cursor.execute(f'select {_comparable(table, "pg")} from "{prefix}{table.schema}"."{table.name}"')
        arrow = cursor.fetch_arrow_table()
    return _normalised(pl.from_arrow(arrow), table)


def assert_equal_to_lake(dsn: PostgresDsn, lake: Lake, domain: str, prefix: str) -> None:
    for table in contracts.tables("gold", domain):
        expected, found = lake_rows(lake, table), database_rows(dsn, table, prefix)
        assert found.height == expected.height, table.qualified_name
        assert found.equals(expected), table.qualified_name


def _as_postgres_prints(declared: str) -> str:
    """A type as format_type() spells it."""
    spelled = {"timestamp": "timestamp without time zone"}.get(declared, declared)
    return spelled.replace("varchar(", "character varying(")


def relations(dsn: PostgresDsn, prefix: str) -> list[tuple]:
    """Every relation of the exported schemas with its storage file: a rewrite shows as a new file."""
    return query(
        dsn,
        "select n.nspname, c.relname, c.relkind, c.relfilenode from pg_class c join pg_namespace n "
        "on n.oid = c.relnamespace where n.nspname like $1 order by 1, 2",
        (prefix.replace("_", "\\_") + "%",),
    )


def leftovers(dsn: PostgresDsn) -> list[tuple]:
    return query(dsn, "select relname from pg_class where relname like '%\\_\\_new'")


@pytest.fixture(scope="module")
def meters_lake(generated: Path, tmp_path_factory: pytest.TempPathFactory) -> Lake:
    return built(generated, tmp_path_factory.mktemp("pg-meters"), run_lake)


@pytest.fixture(scope="module")
def telecom_lake(telecom_generated: Path, tmp_path_factory: pytest.TempPathFactory) -> Lake:
    return built(telecom_generated, tmp_path_factory.mktemp("pg-telecom"), run_telecom)


def _without_2024(trades_generated: Path, root: Path) -> Lake:
    """The trades lake as it stood before 2024: its 2023 drops only, built."""
    shutil.copytree(trades_generated, root)
    for late in (root / "bronze" / "trades" / "transactions").glob("transactions_2024-*"):
        late.unlink()
    lake = Lake(root)
    run_trades(lake)
    return lake


@pytest.fixture(scope="module")
def trades_2023(trades_generated: Path, tmp_path_factory: pytest.TempPathFactory) -> Lake:
    return _without_2024(trades_generated, tmp_path_factory.mktemp("pg-trades-2023") / "lake")


def test_every_domain_lands_equal_to_the_lake_in_the_seeds_shapes(
    postgres_server: PostgresDsn, meters_lake: Lake, telecom_lake: Lake, payments_lake: Lake, trades_lake: Lake,
    ratings_lake: Lake,
) -> None:  # fmt: skip
    lakes = {"meters": meters_lake, "telecom": telecom_lake, "payments": payments_lake, "trades": trades_lake,
             "ratings": ratings_lake}  # fmt: skip
    for domain, lake in lakes.items():
        done = export(lake, postgres_server.uri(), [domain], schema_prefix="all_")
        assert {e.status for e in done} == {"exported"}, domain
        assert_equal_to_lake(postgres_server, lake, domain, "all_")
        for table in contracts.tables("gold", domain):  # the contract's types, exactly
            types = dict(query(
                postgres_server,
                "select attname, format_type(atttypid, atttypmod) from pg_attribute "
                "where attrelid = to_regclass($1) and attnum > 0 and not attisdropped",
                (f'"all_{table.schema}"."{table.name}"',),
            ))  # fmt: skip
            assert types == {c.name: _as_postgres_prints(column_type(c)) for c in table.columns}, table.qualified_name
    kinds = dict(((schema, name), kind) for schema, name, kind, _ in relations(postgres_server, "all_"))
    assert kinds[("all_prepared_layers", "cdr_tower_sessions")] == "r"
    # trades: year partitions of transactions with the seed's key, indexes and foreign key, and the summary view
    assert kinds[("all_gold_trades", "transactions")] == "p"
    partitions = {name for (schema, name), kind in kinds.items() if name.startswith("transactions_") and kind == "r"}
    assert partitions == {"transactions_2023", "transactions_2024"}  # the small lake's years
    assert kinds[("all_gold_trades", "client_transaction_summary")] == "m"
    indexes = dict(query(postgres_server, "select indexname, tablename from pg_indexes where schemaname = $1",
                         ("all_gold_trades",)))  # fmt: skip
    assert {indexes[i.name] for shape in SHAPES.values() for i in shape.indexes} == {"clients", "transactions"}
    assert indexes["client_transaction_summary_key"] == "client_transaction_summary"  # refreshable concurrently
    keys = query(
        postgres_server,
        "select pg_get_constraintdef(oid) from pg_constraint where conrelid = to_regclass($1) order by 1",
        ('"all_gold_trades"."transactions"',),
    )
    assert [k[0] for k in keys] == [
        "FOREIGN KEY (client_id) REFERENCES all_gold_trades.clients(client_id)",
        "PRIMARY KEY (transaction_id, transaction_date)",
    ]
    # ratings: each agency's rows in the table named as the source named it
    agencies = query(postgres_server, "select agency_table from all_gold_ratings.dim_agency order by 1")
    for (name,) in agencies:
        assert kinds[("all_gold_ratings", name)] == "r"
        assert query(postgres_server, f'select count(*) from all_gold_ratings."{name}"')[0][0] > 0
    payload = query(postgres_server, "select pg_typeof(payload)::text from all_gold_ratings.file_invalid_rows limit 1")
    assert payload == [("jsonb",)]
    # every contract's foreign keys are declared
    for table in contracts.tables("gold"):
        if shape_of(table).materialized_view:
            continue
        declared = query(
            postgres_server,
            "select count(*) from pg_constraint where contype = 'f' and conrelid = to_regclass($1) and conparentid = 0",
            (f'"all_{table.schema}"."{table.name}"',),
        )[0][0]
        assert declared == len(table.foreign_keys), table.qualified_name
    before = relations(postgres_server, "all_")
    for domain, lake in lakes.items():
        again = export(lake, postgres_server.uri(), [domain], schema_prefix="all_")
        assert {e.status for e in again} == {"up_to_date"}, domain
    assert relations(postgres_server, "all_") == before  # nothing rewritten
    assert not leftovers(postgres_server)


def test_a_new_year_is_a_new_partition_and_the_summary_refreshes_concurrently(
    postgres_server: PostgresDsn, trades_2023: Lake, trades_generated: Path, tmp_path: Path
) -> None:
    lake = Lake(tmp_path / "lake")
    shutil.copytree(trades_2023.root, lake.root, symlinks=True)
    export(lake, postgres_server.uri(), ["trades"], schema_prefix="year_")
    partitions = "select relname from pg_class where relispartition and relname like 'transactions\\_%' and relkind = 'r' and relnamespace = 'year_gold_trades'::regnamespace order by 1"  # noqa: E501
    assert query(postgres_server, partitions) == [("transactions_2023",)]
    for late in (trades_generated / "bronze" / "trades" / "transactions").glob("transactions_2024-*"):
        shutil.copy2(late, lake.root / "bronze" / "trades" / "transactions" / late.name)
    run_trades(lake)
    # a reader in the middle of a transaction on the summary: a plain refresh would wait for it (and time out)
    with adbc.connect(postgres_server.uri()) as reader, reader.cursor() as cursor:
        cursor.execute("select count(*) from year_gold_trades.client_transaction_summary")
        cursor.fetchall()
        done = {
            e.table.split(".")[1]: e for e in export(lake, postgres_server.uri(), ["trades"], schema_prefix="year_")
        }
        reader.rollback()
    assert done["transactions"].status == "exported" and 1 <= done["transactions"].partitions <= 2
    assert done["client_transaction_summary"].status == "refreshed"
    assert done["clients"].status == "exported"  # merged in place: the view and the foreign key keep depending on it
    assert query(postgres_server, partitions) == [("transactions_2023",), ("transactions_2024",)]
    assert_equal_to_lake(postgres_server, lake, "trades", "year_")
    assert not leftovers(postgres_server)


def test_readers_never_see_an_error_or_half_a_table(
    postgres_server: PostgresDsn, trades_2023: Lake, trades_lake: Lake
) -> None:
    states = [trades_2023, trades_lake]
    watched = ["transactions", "clients", "fact_trades"]
    counts = [
        {name: query_lake(lake, f"select count(*) from gold_trades.{name}") for name in watched} for lake in states
    ]
    export(states[0], postgres_server.uri(), ["trades"], schema_prefix="swap_")
    seen: list[dict] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def read() -> None:
        with adbc.connect(postgres_server.uri()) as db, db.cursor() as cursor:
            while not stop.is_set():
                try:
                    found = {}
                    for name in watched:
                        cursor.execute(f"select count(*) from swap_gold_trades.{name}")
                        found[name] = cursor.fetchall()[0][0]
                    db.commit()
                    seen.append(found)
                except BaseException as error:  # any error a reader meets fails the test
                    errors.append(error)
                    return

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for lake in [states[1], states[0], states[1]]:
            assert {e.status for e in export(lake, postgres_server.uri(), ["trades"], schema_prefix="swap_")} != {
                "up_to_date"
            }
    finally:
        stop.set()
        reader.join()
    assert not errors, errors[0]
    assert seen
    for found in seen:  # each table whole, in the one version or the other
        for name, count in found.items():
            assert count in {c[name] for c in counts}, (name, count)
    assert_equal_to_lake(postgres_server, states[1], "trades", "swap_")


def query_lake(lake: Lake, sql: str) -> object:
    con = connect(lake, split_views=False)
    try:
        return con.sql(sql).fetchall()[0][0]
    finally:
        con.close()


@pytest.mark.parametrize("point", ["export_loaded:gold_trades.transactions", "export_swapped:gold_trades.clients"])
def test_a_killed_export_changes_nothing_and_the_next_repairs_it(
    postgres_server: PostgresDsn, trades_2023: Lake, trades_lake: Lake, point: str
) -> None:
    prefix = "kill_" + point.split(":")[0].split("_")[1] + "_"
    export(trades_2023, postgres_server.uri(), ["trades"], schema_prefix=prefix)
    before = {t.name: database_rows(postgres_server, t, prefix) for t in contracts.tables("gold", "trades")}
    # the password only through the passfile: never on the command line
    env = {**os.environ, "LAKEHOUSE_PG_DSN": postgres_server.uri(), "LAKEHOUSE_CRASH_AT": point}
    command = [sys.executable, "-m", "pipelines.cli", "--data-dir", str(trades_lake.root), "export", "postgres"]
    command += ["--domain", "trades", "--schema-prefix", prefix]
    killed = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert killed.returncode == -9, killed.stderr
    for table in contracts.tables("gold", "trades"):  # as it was, table by table
        assert database_rows(postgres_server, table, prefix).equals(before[table.name]), table.name
    del env["LAKEHOUSE_CRASH_AT"]
    rerun = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert rerun.returncode == 0, rerun.stderr
    assert_equal_to_lake(postgres_server, trades_lake, "trades", prefix)
    assert not leftovers(postgres_server)


def test_a_wrong_password_is_one_line_without_it(postgres_server: PostgresDsn, ratings_lake: Lake) -> None:
    wrong = (
        f"postgresql://{postgres_server.user}:not-the-password@{postgres_server.host}:{postgres_server.port}/postgres"
    )
    with pytest.raises(LakehouseError) as failed:
        export(ratings_lake, wrong, ["ratings"])
    assert "\n" not in str(failed.value) and "not-the-password" not in str(failed.value)
    assert "password authentication failed" in str(failed.value)


def test_the_commands_export_then_say_up_to_date(
    postgres_server: PostgresDsn, ratings_lake: Lake, tmp_path: Path, capsys: pytest.CaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    from pipelines.cli import main

    arguments = ["--data-dir", str(ratings_lake.root), "export", "postgres", "--domain", "ratings"]
    arguments += ["--dsn", postgres_server.uri(), "--schema-prefix", "cli_"]
    assert main(arguments) == 0
    assert "postgres cli_gold_ratings.customer_ratings: exported" in capsys.readouterr().out
    assert main(arguments) == 0
    assert capsys.readouterr().out.count("up to date") == len(contracts.tables("gold", "ratings")) + 1
    assert main([*arguments, "--select", "no_such_model"]) == 2
    assert "--select no_such_model" in capsys.readouterr().err
    assert main(["--data-dir", str(tmp_path / "empty"), "export", "postgres", "--dsn", postgres_server.uri()]) == 2
    assert "run `lakehouse run` first" in capsys.readouterr().err
    # `run --export postgres`, to the database libpq's environment names (the password from its passfile)
    for name, value in postgres_server.env().items():
        monkeypatch.setenv(name, value)
    lake = tmp_path / "lake"
    shutil.copytree(ratings_lake.root, lake, symlinks=True)
    assert main(["--data-dir", str(lake), "run", "--domain", "ratings", "--export", "postgres"]) == 0
    out = capsys.readouterr().out
    assert "export postgres:" in out and "postgres gold_ratings.dim_agency: exported" in out


def test_selecting_a_table_brings_what_it_needs(postgres_server: PostgresDsn, trades_lake: Lake) -> None:
    done = export(trades_lake, postgres_server.uri(), ["trades"], ["client_transaction_summary"], "select_")
    assert {e.table.split(".")[1] for e in done} == {"client_transaction_summary", "transactions", "clients"}
    assert primary_key(contracts.get("gold", "trades", "transactions")) == ("transaction_id", "transaction_date")
    assert partitioning(contracts.get("gold", "trades", "transactions")).by_range


def test_a_table_swapped_whole_keeps_the_views_and_keys_built_on_it(
    postgres_server: PostgresDsn, payments_lake: Lake
) -> None:
    export(payments_lake, postgres_server.uri(), ["payments"], schema_prefix="keep_")
    with adbc.connect(postgres_server.uri()) as db, db.cursor() as cursor:
        cursor.execute("create view public.keep_days as select full_date from keep_gold_payments.dim_date")
        # as if dim_date's contract had changed: its shape no longer matches, so it is rebuilt whole and swapped
        cursor.execute("update public.lakehouse_export set shape = 'old' where table_name = 'dim_date' "
                       "and schema_name = 'keep_gold_payments'")  # fmt: skip
        db.commit()
    done = {
        e.table: e.status for e in export(payments_lake, postgres_server.uri(), ["payments"], schema_prefix="keep_")
    }
    assert done.pop("keep_gold_payments.dim_date") == "exported"
    assert set(done.values()) == {"up_to_date"}
    days = query_lake(payments_lake, "select count(*) from gold_payments.dim_date")
    assert query(postgres_server, "select count(*) from public.keep_days")[0][0] == days
    keys = query(
        postgres_server,
        "select pg_get_constraintdef(oid) from pg_constraint where conname = 'fact_transactions_date_key_fkey' "
        "and conrelid = 'keep_gold_payments.fact_transactions'::regclass"
    )  # fmt: skip
    assert keys == [("FOREIGN KEY (date_key) REFERENCES keep_gold_payments.dim_date(date_key)",)]
    assert_equal_to_lake(postgres_server, payments_lake, "payments", "keep_")


def test_a_large_table_loads_by_several_streams_equal_to_the_lake(
    postgres_server: PostgresDsn, payments_lake: Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipelines import pg_load

    monkeypatch.setattr(pg_load, "STREAM_ROWS", 1)  # every table counts as large here
    monkeypatch.setattr(pg_load, "STREAMS", 3)
    done = export(payments_lake, postgres_server.uri(), ["payments"], schema_prefix="streams_")
    assert {e.status for e in done} == {"exported"}
    assert_equal_to_lake(postgres_server, payments_lake, "payments", "streams_")

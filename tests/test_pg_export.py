"""The PostgreSQL export on a real throwaway PostgreSQL 15: every gold table of a domain lands with its rows and
its contract's types, and an export with nothing new changes nothing."""

from __future__ import annotations

from decimal import Decimal

import duckdb
import pytest

import contracts
from pipelines.duck import connect
from pipelines.errors import LakehouseError
from pipelines.lake import Lake
from pipelines.pg_export import export
from tests.postgres import PostgresDsn

adbc = pytest.importorskip("adbc_driver_postgresql.dbapi")


def query(dsn: PostgresDsn, sql: str) -> list[tuple]:
    with adbc.connect(dsn.uri()) as db, db.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall()


def test_ratings_and_payments_gold_land_whole_with_their_types(
    postgres_server: PostgresDsn, ratings_lake: Lake, payments_lake: Lake
) -> None:
    for lake, domain in ((ratings_lake, "ratings"), (payments_lake, "payments")):
        done = export(lake, postgres_server.uri(), [domain])
        assert {e.status for e in done} == {"exported"}
        con = connect(lake)
        try:
            for table in contracts.tables("gold", domain):
                rows = con.execute(f"select count(*) from {table.qualified_name}").fetchall()[0][0]
                there = query(postgres_server, f'select count(*) from "{table.schema}"."{table.name}"')[0][0]
                assert there == rows, table.qualified_name
        finally:
            con.close()
    types = dict(
        query(
            postgres_server,
            "select attname, format_type(atttypid, atttypmod) from pg_attribute "
            "where attrelid = 'gold_ratings.agg_customer_rating_report'::regclass and attnum > 0",
        )
    )
    assert types["invalid_customer_number_percent"] == "numeric(5,2)" and types["customer"] == "text"
    lake_sum = (
        duckdb.connect(str(payments_lake.catalog), read_only=True)
        .execute("select sum(revenue) from gold_payments.fact_transactions")
        .fetchall()[0][0]
    )
    there = query(postgres_server, "select sum(revenue)::text from gold_payments.fact_transactions")[0][0]
    assert Decimal(there) == lake_sum  # exact decimals
    again = export(ratings_lake, postgres_server.uri(), ["ratings"])
    assert {e.status for e in again} == {"up_to_date"}
    assert not query(
        postgres_server, "select relname from pg_class where relname like '%\\_\\_new' or relname like '%\\_\\_old'"
    )


def test_a_wrong_password_is_one_line_without_it(postgres_server: PostgresDsn, ratings_lake: Lake) -> None:
    wrong = (
        f"postgresql://{postgres_server.user}:not-the-password@{postgres_server.host}:{postgres_server.port}/postgres"
    )
    with pytest.raises(LakehouseError) as failed:
        export(ratings_lake, wrong, ["ratings"])
    assert "\n" not in str(failed.value) and "not-the-password" not in str(failed.value)
    assert "password authentication failed" in str(failed.value)


def test_the_command_exports_then_says_up_to_date(
    postgres_server: PostgresDsn, ratings_lake: Lake, tmp_path, capsys: pytest.CaptureFixture
) -> None:
    from pipelines.cli import main

    arguments = ["--data-dir", str(ratings_lake.root), "export", "postgres", "--domain", "ratings"]
    arguments += ["--dsn", postgres_server.uri(), "--schema-prefix", "cli_"]
    assert main(arguments) == 0
    assert "postgres cli_gold_ratings.customer_ratings:" in capsys.readouterr().out
    assert main(arguments) == 0
    assert capsys.readouterr().out.count("up to date") == len(contracts.tables("gold", "ratings"))

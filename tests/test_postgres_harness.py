"""The throwaway PostgreSQL works for what the export will do: DuckDB's Arrow stream bulk-loaded by ADBC into a table
created by DDL with exact types, read back equal; and a wrong password fails without showing the password."""

from __future__ import annotations

import secrets

import duckdb
import pytest

from tests.postgres import REQUIRED, PostgresDsn

try:
    from adbc_driver_postgresql import dbapi
except ImportError:
    if REQUIRED:
        raise
    pytest.skip("needs the postgres extra: pip install -e .[postgres]", allow_module_level=True)

# One row per id: hand-picked edges (extreme decimals, the longest multibyte varchar(25), quotes and tabs, the
# epochs of both systems, microseconds, nulls), then enough generated rows for the stream to come in many batches.
ROWS = """
with edges as (
    select * from (values
        (1, 9999999999.99, 'Zoë Ünïcödé 25 characters', date '2024-02-29', timestamp '2024-02-29 23:59:59.999999'),
        (2, -9999999999.99, '', date '1970-01-01', timestamp '1969-12-31 23:59:59.000001'),
        (3, 0.00, 'O''Brien, "q"' || chr(9) || 'tab\\n', date '2000-01-01', timestamp '2000-01-01 00:00:00'),
        (4, null, null, null, null)
    ) as v(id, amount, name, day, stamped_at)
),

generated as (
    select
        100 + i as id,
        ((i * 7919) % 2000001 - 1000000) * 0.01 as amount,
        'client ' || i as name,
        date '1950-01-01' + (i * 37 % 40000)::integer as day,
        timestamp '1960-01-01' + to_microseconds(i * 123456789013) as stamped_at
    from range(5000) as t(i)
),

rows as (
    select * from edges
    union all
    select * from generated
)

select
    id::integer as id,
    amount::decimal(12, 2) as amount,
    name::varchar as name,
    day::date as day,
    stamped_at::timestamp as stamped_at,
from rows
"""

DDL = """
create table harness.rows (
    id integer primary key,
    amount numeric(12, 2),
    name varchar(25),
    day date,
    stamped_at timestamp
)
"""


def test_a_duckdb_arrow_stream_bulk_loads_into_a_typed_table_and_reads_back_exactly(
    postgres_server: PostgresDsn,
) -> None:
    duck = duckdb.connect()
    with dbapi.connect(postgres_server.uri()) as pg, pg.cursor() as cursor:
        cursor.execute("create schema harness")
        cursor.execute(DDL)
        reader = duck.sql(ROWS).to_arrow_reader(batch_size=1000)
        loaded = cursor.adbc_ingest("rows", reader, mode="append", db_schema_name="harness")
        pg.commit()

        cursor.execute("select amount::text, name, id, day, stamped_at from harness.rows order by id")
        back = cursor.fetchall()
        cursor.execute(
            "select column_name, data_type, character_maximum_length, numeric_precision, numeric_scale"
            " from information_schema.columns where table_schema = 'harness' and table_name = 'rows'"
            " order by ordinal_position"
        )
        columns = cursor.fetchall()

    expected = [
        (None if amount is None else str(amount), name, id_, day, stamped_at)
        for id_, amount, name, day, stamped_at in duck.sql(ROWS + " order by id").fetchall()
    ]
    assert loaded == len(expected) == 5004
    assert back == expected
    assert columns == [
        ("id", "integer", None, 32, 0),
        ("amount", "numeric", None, 12, 2),
        ("name", "character varying", 25, None, None),
        ("day", "date", None, None, None),
        ("stamped_at", "timestamp without time zone", None, None, None),
    ]


def test_a_wrong_password_fails_without_showing_it(postgres_server: PostgresDsn) -> None:
    wrong = secrets.token_urlsafe(16)
    server = postgres_server
    with pytest.raises(dbapi.Error) as failure:
        dbapi.connect(f"postgresql://{server.user}:{wrong}@{server.host}:{server.port}/{server.dbname}")
    message = str(failure.value)
    assert "password authentication failed" in message
    assert wrong not in message and server.password not in message


def test_the_dsn_keeps_its_password_out_of_repr_and_str(postgres_server: PostgresDsn) -> None:
    shown = [repr(postgres_server), str(postgres_server), postgres_server.uri(), *postgres_server.env().values()]
    assert all(postgres_server.password not in text for text in shown)
    assert postgres_server.password in postgres_server.passfile.read_text()

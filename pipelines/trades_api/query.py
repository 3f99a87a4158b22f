"""One client's transactions from gold_trades.transactions: the lookup behind `lakehouse trades` and the HTTP API.

The lookup is cheap because the table is laid out for it: one folder per year (`year=YYYY`), each file sorted by
client then date. The query names the years its dates span, so DuckDB opens only those folders, and within a file
the row groups' client_id and transaction_date statistics skip every other client.
"""

from __future__ import annotations

import datetime as dt
import re

import duckdb

from core.errors import LakehouseError
from core.lake import Lake
from pipelines import catalog

# Every gold column but the partition column; both dates are inclusive, the end date to the end of its day.
_TRANSACTIONS = """
select * exclude (year)
from gold_trades.transactions
where client_id = $client_id
  and year between $first_year and $last_year
  and transaction_date >= $start
  and transaction_date < $end + interval 1 day
order by transaction_date, transaction_id
"""
_CLIENT = "select count(*) from gold_trades.clients where client_id = $client_id"
_VIEWS = (
    "select count(*) from duckdb_views() where schema_name = 'gold_trades' and view_name in ('transactions', 'clients')"
)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class UnknownClient(LakehouseError):
    """No client with this id in gold_trades.clients."""


class BadDate(LakehouseError):
    """A date that is not a real day written YYYY-MM-DD."""


class BadDateRange(LakehouseError):
    """A start date after the end date."""


def parse_date(text: str) -> dt.date:
    """A YYYY-MM-DD day (only that form: the source API took nothing else)."""
    try:
        if _ISO_DATE.fullmatch(text):
            return dt.date.fromisoformat(text)
    except ValueError:
        pass
    raise BadDate(f"{text!r} is not a date like 2024-01-31")


def open_catalog(lake: Lake) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the catalog that keeps Parquet footers in memory between lookups."""
    missing = LakehouseError(f"no trades tables in {lake.catalog}; run `lakehouse generate trades` and `lakehouse run`")
    if not lake.catalog.exists():
        raise missing
    con = catalog.open_catalog(lake)  # a copied or moved lake's catalog is repaired first
    con.execute("set global parquet_metadata_cache = true")  # global: a cursor does not inherit a plain `set`
    if con.execute(_VIEWS).fetchall()[0][0] != 2:
        con.close()
        raise missing
    return con


def client_transactions(
    con: duckdb.DuckDBPyConnection, client_id: str, start: dt.date | None = None, end: dt.date | None = None
) -> duckdb.DuckDBPyRelation:
    """The client's transactions from `start` to `end` (both inclusive, either open), oldest first.

    Runs the query now and holds its rows (a client's are few). Only an empty answer looks the client up: gold
    checks that every transaction's client is in gold_trades.clients, so that read is spared when there are rows.
    From threads, pass a `cursor()` each.
    """
    if start and end and start > end:
        raise BadDateRange(f"the start date {start} is after the end date {end}")
    first, last = start or dt.date.min, end or dt.date.max
    parameters = {
        "client_id": client_id,
        "first_year": f"{first.year:04d}",
        "last_year": f"{last.year:04d}",
        "start": dt.datetime.combine(first, dt.time()),
        "end": dt.datetime.combine(last, dt.time()),
    }
    relation = con.sql(_TRANSACTIONS, params=parameters).materialize()
    if len(relation) == 0 and con.execute(_CLIENT, {"client_id": client_id}).fetchall()[0][0] == 0:
        raise UnknownClient(f"unknown client {client_id!r}; client ids are in gold_trades.clients")
    return relation

"""One client's transactions: `lakehouse trades` on the command line and the transactions API over real HTTP."""

from __future__ import annotations

import contextlib
import datetime as dt
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from email.message import Message

import polars as pl
import pytest
import uvicorn

from core.lake import Lake
from pipelines.cli_trades import TOKEN_ENV
from pipelines.trades_api.query import (
    BadDate,
    BadDateRange,
    UnknownClient,
    client_transactions,
    open_catalog,
    parse_date,
)
from pipelines.trades_api.server import create_app
from tests.conftest import gold

TOKEN = "correct-horse-battery-staple"
INJECTION = "x' or '1'='1"


def lakehouse(lake: Lake, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """The CLI in a subprocess, without the API token unless `env` gives one."""
    environment = {k: v for k, v in os.environ.items() if k != TOKEN_ENV} | (env or {})
    command = [sys.executable, "-m", "pipelines.cli", "--data-dir", str(lake.root), *args]
    return subprocess.run(command, capture_output=True, text=True, env=environment, timeout=60)


def transactions(lake: Lake) -> pl.DataFrame:
    """gold_trades.transactions read straight from its Parquet files, in the lookup's order."""
    return gold(lake, "transactions", "trades").sort("transaction_date", "transaction_id")


@pytest.fixture(scope="module")
def period(trades_lake: Lake) -> tuple[str, dt.date, dt.date, pl.DataFrame]:
    """The busiest client, a period from mid-2023 to mid-2024 whose last day has a trade after midnight, and the
    client's transactions in it."""
    rows = transactions(trades_lake)
    client = rows["client_id"].value_counts(sort=True)["client_id"][0]
    mine = rows.filter(pl.col("client_id") == client)
    in_2023, in_2024 = (mine.filter(pl.col("year") == year)["transaction_date"] for year in ("2023", "2024"))
    start, last = in_2023[len(in_2023) // 2].date(), in_2024[len(in_2024) // 2]
    assert last.time() > dt.time(0)
    days = pl.col("transaction_date").dt.date()
    return client, start, last.date(), mine.filter(days.is_between(start, last.date())).drop("year")


@pytest.fixture(scope="module")
def api(trades_lake: Lake) -> Iterator[str]:
    with serving(create_app(trades_lake, TOKEN, per_minute=1_000)) as url:
        yield url


@contextlib.contextmanager
def serving(app: object) -> Iterator[str]:
    """The app served by uvicorn on a free port of 127.0.0.1, in a thread; yields its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started and thread.is_alive():
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join()
        sock.close()


def get(url: str, token: str | None = TOKEN) -> tuple[int, Message, dict]:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30) as response:
            return response.status, response.headers, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, error.headers, json.load(error)


def path(client_id: str, **dates: str) -> str:
    query = f"?{urllib.parse.urlencode(dates)}" if dates else ""
    return f"/transactions/{urllib.parse.quote(client_id, safe='')}{query}"


def as_cli_json(frame: pl.DataFrame) -> list[dict]:
    """Rows as `lakehouse sql --format json` prints them."""
    return json.loads(json.dumps(frame.to_dicts(), default=str))


def as_api_json(frame: pl.DataFrame) -> list[dict]:
    """Rows as the API serves them: decimals as exact strings, timestamps in ISO 8601."""
    convert = {Decimal: str, dt.datetime: dt.datetime.isoformat}
    return [{k: convert.get(type(v), lambda x: x)(v) for k, v in row.items()} for row in frame.to_dicts()]


def one_error_line(result: subprocess.CompletedProcess, prefix: str = "lakehouse: error: ") -> str:
    lines = result.stderr.splitlines()
    assert result.returncode == 2 and len(lines) == 1 and lines[0].startswith(prefix), result.stderr
    return lines[0]


def test_cli_prints_every_transaction_of_the_client_oldest_first(trades_lake: Lake) -> None:
    rows = transactions(trades_lake).drop("year")
    client = rows["client_id"][0]
    printed = lakehouse(trades_lake, "trades", client, "--format", "json")
    assert printed.returncode == 0, printed.stderr
    assert json.loads(printed.stdout) == as_cli_json(rows.filter(pl.col("client_id") == client))
    table = lakehouse(trades_lake, "trades", client)
    assert table.returncode == 0 and client in table.stdout
    csv = lakehouse(trades_lake, "trades", client, "--format", "csv")
    assert csv.stdout.splitlines()[0] == ",".join(rows.columns)


def test_cli_dates_are_inclusive_and_the_last_day_is_whole(trades_lake: Lake, period: tuple) -> None:
    client, start, end, expected = period
    printed = lakehouse(trades_lake, "trades", client, "--from", str(start), "--to", str(end), "--format", "json")
    assert printed.returncode == 0, printed.stderr
    rows = json.loads(printed.stdout)
    assert rows == as_cli_json(expected)
    assert rows[0]["transaction_date"].startswith(str(start)) and rows[-1]["transaction_date"].startswith(str(end))
    everything = transactions(trades_lake).filter(pl.col("client_id") == client)
    assert 0 < len(rows) < len(everything)


def test_cli_mistakes_are_one_line(trades_lake: Lake, period: tuple) -> None:
    client, start, end, _ = period
    unknown = one_error_line(lakehouse(trades_lake, "trades", "nobody"))
    assert "unknown client 'nobody'" in unknown
    one_error_line(lakehouse(trades_lake, "trades", client, "--from", str(end), "--to", str(start)))
    # argparse names the subcommand, as for every other option of the lakehouse command
    bad = one_error_line(lakehouse(trades_lake, "trades", client, "--to", "2024-13-01"), "lakehouse trades: error:")
    assert "'2024-13-01' is not a date" in bad
    no_lake = one_error_line(lakehouse(Lake(trades_lake.root / "nothing"), "trades", client))
    assert "lakehouse generate trades" in no_lake


def test_serve_refuses_to_start_without_a_token_or_a_lake(trades_lake: Lake) -> None:
    for env in ({}, {TOKEN_ENV: ""}):
        line = one_error_line(lakehouse(trades_lake, "serve", "--port", "1", env=env))
        assert TOKEN_ENV in line
    no_lake = one_error_line(lakehouse(Lake(trades_lake.root / "nothing"), "serve", env={TOKEN_ENV: TOKEN}))
    assert "lakehouse run" in no_lake and TOKEN not in no_lake


def test_the_lookup_checks_its_arguments(trades_lake: Lake, period: tuple) -> None:
    client, start, end, _ = period
    con = open_catalog(trades_lake)
    try:
        with pytest.raises(UnknownClient):
            client_transactions(con, INJECTION)
        with pytest.raises(BadDateRange):
            client_transactions(con, client, end, start)
        assert client_transactions(con, client, end, end).fetchall()
    finally:
        con.close()
    for text in ("20240131", "2024-02-30", "2024-1-31", " 2024-01-31"):
        with pytest.raises(BadDate):
            parse_date(text)


def test_the_api_needs_the_token_before_anything_else(api: str) -> None:
    for token in (None, "wrong", TOKEN + "x", ""):
        for client_id in ("nobody", INJECTION):
            status, headers, body = get(api + path(client_id, start_date="2024-13-01"), token)
            assert (status, headers["WWW-Authenticate"]) == (401, "Bearer")
            assert body == {"detail": "invalid or missing bearer token"}


def test_the_api_serves_what_the_cli_prints(api: str, period: tuple) -> None:
    client, start, end, expected = period
    status, headers, body = get(api + path(client, start_date=str(start), end_date=str(end)))
    assert (status, headers["Content-Type"]) == (200, "application/json")
    assert body == {
        "client_id": client,
        "start_date": str(start),
        "end_date": str(end),
        "count": len(expected),
        "transactions": as_api_json(expected),
    }
    assert body["transactions"][0]["fx_rate"].count(".") == 1  # an exact decimal string, not a float
    status, _, everything = get(api + path(client) + "/")  # neotransact's URL ended with a slash
    assert status == 200 and everything["start_date"] is None and everything["count"] > len(expected)


def test_the_api_answers_requests_in_parallel(api: str, period: tuple) -> None:
    client, start, end, expected = period
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(get, [api + path(client, start_date=str(start), end_date=str(end))] * 16))
    assert {status for status, _, _ in answers} == {200}
    assert all(body["transactions"] == as_api_json(expected) for _, _, body in answers)


def test_the_api_refuses_bad_dates_and_unknown_clients(api: str, period: tuple) -> None:
    client, start, end, _ = period
    for dates in (
        {"start_date": "2024-13-01"},
        {"end_date": "20240131"},
        {"start_date": str(end), "end_date": str(start)},
    ):
        status, _, body = get(api + path(client, **dates))
        assert status == 400 and set(body) == {"detail"}
    for client_id in ("nobody", INJECTION, "' or client_id is not null --"):
        status, _, body = get(api + path(client_id))
        assert status == 404 and body["detail"].startswith("unknown client")
    assert get(api + "/nothing")[::2] == (404, {"detail": "Not Found"})


def test_the_api_limits_each_caller(trades_lake: Lake, period: tuple) -> None:
    url = path(period[0])
    with serving(create_app(trades_lake, TOKEN, per_minute=3)) as api:
        assert [get(api + url)[0] for _ in range(3)] == [200, 200, 200]
        status, headers, body = get(api + url)
        assert status == 429 and 1 <= int(headers["Retry-After"]) <= 20 and set(body) == {"detail"}
        assert get(api + url, "wrong")[0] == 401  # the token is checked first
        other = http.client.HTTPConnection(urllib.parse.urlsplit(api).netloc, source_address=("127.0.0.2", 0))
        other.request("GET", url, headers={"Authorization": f"Bearer {TOKEN}"})
        assert other.getresponse().status == 200  # another caller has a bucket of its own

"""`lakehouse sql`: every column shown, DuckDB's whole error, nested values in CSV, exports, and the SQL shell."""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import select
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import polars as pl
import pytest

from core.lake import Lake
from pipelines.cli import main

QUARANTINE_RULES = "select failed_rules, count(*) as n from quarantine_payments.transactions group by all order by all"
FACTS = "select * from gold_payments.fact_transactions order by transaction_id limit 3"


def sql(lake: Lake, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "pipelines.cli", "--data-dir", str(lake.root), "sql", *args]
    return subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=120)


def expected(lake: Lake, query: str) -> pl.DataFrame:
    with duckdb.connect(str(lake.catalog), read_only=True) as con:
        return con.sql(query).pl()


@pytest.fixture
def lake_copy_of_payments(payments_lake: Lake, tmp_path: Path) -> Lake:
    lake = Lake(tmp_path / "lake")
    shutil.copytree(payments_lake.root, lake.root, symlinks=True)
    return lake


def test_a_piped_table_shows_every_column(payments_lake: Lake) -> None:
    columns = expected(payments_lake, FACTS).columns
    assert len(columns) > 10  # more than DuckDB shows in its default width
    piped = sql(payments_lake, FACTS)
    assert piped.returncode == 0, piped.stderr
    header = piped.stdout.splitlines()[1]
    assert [c.strip() for c in header.strip("│").split("│")] == columns
    assert "shown" not in piped.stdout
    narrow = sql(payments_lake, FACTS, "--max-width", "60")
    assert f"{len(columns)} columns" in narrow.stdout and "shown)" in narrow.stdout
    assert max(map(len, narrow.stdout.splitlines())) < max(map(len, piped.stdout.splitlines()))


@pytest.mark.parametrize(
    "query, parts",
    [
        ("selec 1", ["Parser Error: syntax error at or near", "LINE 1: selec 1", "^"]),
        ("select channl from gold_payments.dim_channel", ["Binder Error", "Candidate bindings", "channel_name"]),
    ],
)
def test_a_duckdb_error_is_printed_whole(payments_lake: Lake, query: str, parts: list[str], capsys) -> None:
    assert main(["--data-dir", str(payments_lake.root), "sql", query]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lakehouse: error: ") and "Traceback" not in err
    assert all(part in err for part in parts), err


def test_csv_writes_nested_values_as_json(payments_lake: Lake, capsys) -> None:
    assert main(["--data-dir", str(payments_lake.root), "sql", QUARANTINE_RULES, "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(json.loads(r["failed_rules"]), int(r["n"])) for r in rows] == expected(
        payments_lake, QUARANTINE_RULES
    ).rows()
    nested = "select {'a': 1.5, 'b': [1, null]} as s, map {'k': 'v'} as m, null::int[] as empty, 'x,y' as text"
    assert main(["--data-dir", str(payments_lake.root), "sql", nested, "--format", "csv"]) == 0
    assert capsys.readouterr().out == 's,m,empty,text\n"{""a"":1.5,""b"":[1,null]}","{""k"":""v""}",,"x,y"\n'


@pytest.mark.parametrize("fmt", ["parquet", "csv", "json"])
def test_out_exports_the_result_to_a_file(payments_lake: Lake, tmp_path: Path, fmt: str, capsys) -> None:
    out = tmp_path / f"rules.{fmt}"
    out.write_text("an older export")
    assert main(["--data-dir", str(payments_lake.root), "sql", QUARANTINE_RULES, "--out", str(out)]) == 0
    assert capsys.readouterr().out == ""
    assert os.listdir(tmp_path) == [out.name]  # written aside, renamed into place
    rows = expected(payments_lake, QUARANTINE_RULES).rows()
    if fmt == "parquet":
        assert pl.read_parquet(out).rows() == rows  # nested values stay nested
    elif fmt == "csv":
        assert [(json.loads(r["failed_rules"]), int(r["n"])) for r in csv.DictReader(out.open())] == rows
    else:
        assert [(r["failed_rules"], r["n"]) for r in json.loads(out.read_text())] == rows


def test_the_shell_reads_statements_from_stdin(payments_lake: Lake) -> None:
    script = (
        "select count(*) as n\n  from gold_payments.dim_channel\n;\n"
        "select nope;\n"
        "select 'still going' as after_an_error; select 2 as two;\n"
        ".quit\n"
        "select 'after quit' as never;\n"
    )
    shell = sql(payments_lake, "--format", "csv", stdin=script)
    assert shell.stdout == "n\n4\nafter_an_error\nstill going\ntwo\n2\n"
    assert shell.stderr.startswith('Binder Error: Referenced column "nope"') and "Traceback" not in shell.stderr
    assert shell.returncode == 2  # a script's caller learns that a statement failed
    clean = sql(payments_lake, stdin="select 42 as answer")  # the last statement needs no `;`
    assert clean.returncode == 0 and "42" in clean.stdout and "answer" in clean.stdout
    assert not (payments_lake.logs / "sql_history").exists()  # a script is no history


def test_the_interactive_shell_keeps_its_history_in_the_lake(lake_copy_of_payments: Lake) -> None:
    first = terminal_session(lake_copy_of_payments, ["select 40 + 2\n", "  as answer;\n", "select nope;\n", ".quit\n"])
    assert "lakehouse> " in first and "...> " in first and "42" in first and "Binder Error" in first
    history = lake_copy_of_payments.logs / "sql_history"
    assert history.read_text().splitlines() == ["select 40 + 2 as answer;", "select nope;"]
    terminal_session(lake_copy_of_payments, ["select 1;\n", "\x04"])  # Ctrl-D leaves too
    assert history.read_text().splitlines() == ["select 40 + 2 as answer;", "select nope;", "select 1;"]


def terminal_session(lake: Lake, typed: list[str]) -> str:
    """Run the shell on a pseudo-terminal and type each of `typed` once it prompts for it, as a person would;
    returns what the terminal showed."""
    leader, follower = pty.openpty()
    command = [sys.executable, "-m", "pipelines.cli", "--data-dir", str(lake.root), "sql"]
    shell = subprocess.Popen(
        command, stdin=follower, stdout=follower, stderr=follower, env={**os.environ, "TERM": "dumb"}
    )
    os.close(follower)
    shown = b""
    for prompts, keys in enumerate(typed, start=1):
        while shown.count(b"lakehouse> ") + shown.count(b"...> ") < prompts:
            chunk = read_terminal(leader)
            assert chunk, f"the shell ended early: {shown!r}"
            shown += chunk
        os.write(leader, keys.encode())
    while chunk := read_terminal(leader):
        shown += chunk
    os.close(leader)
    assert shell.wait(timeout=60) == 0
    return shown.decode(errors="replace")


def read_terminal(leader: int) -> bytes:
    """What the terminal shows next; nothing once the shell has exited and closed it."""
    assert select.select([leader], [], [], 60)[0], "the shell went quiet"
    try:
        return os.read(leader, 4096)
    except OSError:  # EIO: the shell has exited
        return b""

"""`lakehouse sql` without a query: an interactive SQL shell over the catalog, so nobody needs DuckDB's own CLI.

Statements end with `;` and may span lines; several on a line each print their result. `.quit`, `.exit` or Ctrl-D
leaves; Ctrl-C drops the statement being typed or stops the running query. An error is printed as DuckDB's whole
message and the shell goes on. Each statement typed, on one line, goes into the readline history, kept in the
lake (`_logs/sql_history`, the last HISTORY_LENGTH statements), so arrow keys recall it in the next session too.

Fed a script on stdin instead of a terminal, it prints no prompts, keeps no history and exits 2 if any statement
failed, so that the script's caller can tell.
"""

from __future__ import annotations

import readline
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb

from pipelines.cli_output import print_relation

PROMPT = "lakehouse> "
MORE = "      ...> "
QUIT = (".quit", ".exit")
HISTORY_LENGTH = 1_000


def shell(con: duckdb.DuckDBPyConnection, history: Path, fmt: str, max_width: int | None) -> int:
    """Read, run and print statements until the input ends; returns the exit code."""
    interactive = sys.stdin.isatty()
    if interactive:
        _load(history)
    failed = False
    try:
        for text in _statements(interactive):
            failed |= not _run(con, text, fmt, max_width)
    finally:
        if interactive:
            _save(history)
    return 2 if failed and not interactive else 0


def _statements(interactive: bool) -> Iterator[str]:
    """What is typed, a statement (or a dot command) at a time, until `.quit` or the end of the input."""
    lines: list[str] = []
    while True:
        try:
            line = input((MORE if lines else PROMPT) if interactive else "")
        except EOFError:
            break
        except KeyboardInterrupt:  # drop what was typed, as psql and DuckDB's shell do
            print(file=sys.stderr)
            lines.clear()
            continue
        if not lines and line.strip() in QUIT:
            return
        if lines or line.strip():
            lines.append(line)
        text = "\n".join(lines).strip()
        if text.endswith(";") or text.startswith("."):
            if interactive:
                readline.add_history(" ".join(line.strip() for line in lines if line.strip()))
            yield text
            lines.clear()
    if lines:  # a last statement without its `;`
        yield "\n".join(lines)


def _run(con: duckdb.DuckDBPyConnection, text: str, fmt: str, max_width: int | None) -> bool:
    """Run the statements in `text` and print each result; returns whether all succeeded."""
    if text.startswith("."):
        known = " and ".join(QUIT)
        print(f"unknown command {text.split()[0]}: {known} leave; `show all tables;` lists the tables", file=sys.stderr)
        return False
    try:
        for statement in con.extract_statements(text):
            relation = con.sql(statement.query)
            if relation is not None:
                print_relation(relation, fmt, max_width)
    except duckdb.Error as error:
        print(error, file=sys.stderr)
        return False
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return False
    return True


def _load(history: Path) -> None:
    readline.set_auto_history(False)  # a statement is one entry, however many lines it took
    readline.set_history_length(HISTORY_LENGTH)
    readline.clear_history()
    if history.exists():
        readline.read_history_file(history)


def _save(history: Path) -> None:
    try:
        history.parent.mkdir(parents=True, exist_ok=True)
        readline.write_history_file(history)
    except OSError as error:
        print(f"lakehouse: warning: the shell's history was not saved to {history}: {error.strerror}", file=sys.stderr)

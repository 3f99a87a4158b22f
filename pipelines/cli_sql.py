"""`lakehouse sql`: query the catalog and print or export the result; with no query, an interactive SQL shell.

A DuckDB error is the user's to fix (a misspelt column, a missing table), so it is printed whole, with DuckDB's
candidate names and its pointer into the query, and exits 2 like any other mistake, without a traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core.errors import LakehouseError
from core.lake import Lake
from pipelines.cli_output import EXPORTED, PRINTED, print_relation, write_relation
from pipelines.cli_types import positive_int


def add_sql_command(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    sql = commands.add_parser(
        "sql",
        parents=[common],
        help="query the lake with DuckDB, or open a SQL shell",
        description="Run a SQL query against the catalog (data/lakehouse.duckdb) and print or export its result. "
        "Without a query, start an interactive shell: statements end with `;`, `.quit` or Ctrl-D leaves.",
    )
    sql.add_argument("query", nargs="?", help='e.g. "select * from gold_meters.agg_payment_summary"')
    sql.add_argument(
        "--format",
        choices=sorted({*PRINTED, *EXPORTED}),
        default=None,
        help="table (default), csv (nested values as JSON), json, or parquet (with --out)",
    )
    sql.add_argument(
        "--out",
        type=Path,
        metavar="FILE",
        help="write the result to FILE instead (its format from --format or the file's extension: .csv, .json, "
        ".parquet)",
    )
    width = sql.add_mutually_exclusive_group()
    width.add_argument(
        "--max-width",
        type=positive_int,
        metavar="N",
        help="widest table to print, in characters (default: the terminal's; unlimited when not a terminal)",
    )
    width.add_argument(
        "--wide", dest="max_width", action="store_const", const=sys.maxsize, help="print tables with every column"
    )
    sql.set_defaults(handler=_sql)


def _sql(args: argparse.Namespace) -> int:
    import duckdb  # here, not at the top: `lakehouse --help` and the other commands do not pay for DuckDB

    from pipelines.catalog import open_catalog

    fmt = _format(args)
    lake = Lake.locate(getattr(args, "data_dir", None))
    if not lake.catalog.exists():
        raise LakehouseError(f"no catalog at {lake.catalog}; run `lakehouse run` first")
    con = open_catalog(lake)
    try:
        if args.query is None:
            from pipelines.shell import shell

            return shell(con, lake.logs / "sql_history", fmt, args.max_width)
        try:
            relation = con.sql(args.query)
            if relation is None:  # a statement without a result
                return 0
            if args.out:
                write_relation(relation, fmt, args.out)
            else:
                print_relation(relation, fmt, args.max_width)
        except duckdb.Error as error:
            raise LakehouseError(str(error)) from None
    finally:
        con.close()
    return 0


def _format(args: argparse.Namespace) -> str:
    """The output format: --format, else the extension of --out, else a table; refused when it cannot go where
    it is asked to."""
    if args.out is None:
        if args.format == "parquet":
            raise LakehouseError("--format parquet writes a file: add --out FILE")
        return args.format or "table"
    if args.query is None:
        raise LakehouseError("--out writes the result of a query: give one")
    fmt = args.format or args.out.suffix.lstrip(".").lower()
    if fmt not in EXPORTED:
        raise LakehouseError(f"--out {args.out}: give --format {', '.join(EXPORTED)} (or a file ending in one)")
    return fmt

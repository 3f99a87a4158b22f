"""`lakehouse export postgres`: the gold layer into a PostgreSQL database (see pipelines/pg_export.py)."""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Sequence

from core.lake import Lake

DSN_ENV = "LAKEHOUSE_PG_DSN"


def add_export_command(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    export = commands.add_parser(
        "export",
        parents=[common],
        help="publish gold into a database",
        description="Publish the gold tables into another system; each table whole or not at all.",
    )
    targets = export.add_subparsers(title="targets", metavar="TARGET", required=True)
    postgres = targets.add_parser(
        "postgres",
        parents=[common],
        help="PostgreSQL, through the ADBC driver (pip install -e '.[postgres]')",
        description=f"Export gold tables into PostgreSQL. The database comes from --dsn, else ${DSN_ENV}, else "
        "libpq's own defaults (PGHOST, PGSERVICE, ...); give the password in PGPASSFILE or PGPASSWORD, never on "
        "the command line. Tables whose lake version the database already holds are left alone.",
    )
    postgres.add_argument("--dsn", default=None, help=f"a libpq URI without password (default: ${DSN_ENV})")
    postgres.add_argument("--domain", action="append", default=[], help="only this domain (repeatable)")
    postgres.add_argument("--select", action="append", default=[], metavar="MODEL", help="only this gold table")
    postgres.add_argument("--schema-prefix", default="", help="prefix of the schemas created (default: none)")
    postgres.set_defaults(handler=_export_postgres)


def _export_postgres(args: argparse.Namespace) -> int:
    from pipelines.selection import resolve_domains

    lake = Lake.locate(getattr(args, "data_dir", None))
    export_to_postgres(lake, resolve_domains(tuple(args.domain)), args.dsn, args.select, args.schema_prefix)
    return 0


def export_to_postgres(
    lake: Lake, domains: Sequence[str], dsn: str | None, select: Sequence[str] = (), schema_prefix: str = ""
) -> None:
    """Export, print a line per table and log the outcome (tables and rows: never the DSN, which may hold a
    password)."""
    from core import logs
    from pipelines.pg_export import export

    started = time.monotonic()
    results = export(lake, dsn or os.environ.get(DSN_ENV) or "postgresql://", domains, select, schema_prefix)
    for done in results:
        if done.status == "up_to_date":
            print(f"postgres {done.table}: up to date")
        else:
            replaced = f", {done.partitions} partition(s) replaced" if done.partitions else ""
            print(f"postgres {done.table}: {done.status}, {done.rows:,} rows{replaced} ({done.seconds:.1f} s)")
    changed = [d for d in results if d.status != "up_to_date"]
    seconds = round(time.monotonic() - started, 3)
    summary = f"{len(changed)} of {len(results)} table(s) exported in {seconds:.1f} s" if changed else "up to date"
    print(f"export postgres: {summary}")
    logs.event(
        "export_finished", summary, target="postgres", seconds=seconds,
        tables={d.table: {"status": d.status, "rows": d.rows, "seconds": d.seconds} for d in results},
    )  # fmt: skip

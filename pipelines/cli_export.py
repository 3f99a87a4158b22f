"""`lakehouse export postgres`: the gold layer into a PostgreSQL database (see pipelines/pg_export.py)."""

from __future__ import annotations

import argparse
import os

from pipelines.lake import Lake

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
    from pipelines.pg_export import export
    from pipelines.selection import resolve_domains

    lake = Lake.locate(getattr(args, "data_dir", None))
    dsn = args.dsn or os.environ.get(DSN_ENV) or "postgresql://"
    for done in export(lake, dsn, resolve_domains(tuple(args.domain)), args.select, args.schema_prefix):
        what = f"{done.rows:,} rows in {done.seconds:.1f} s" if done.status == "exported" else "up to date"
        print(f"postgres {done.table}: {what}")
    return 0

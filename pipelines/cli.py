"""The `lakehouse` command.

A mistake the user can fix (bad option, bad input, busy lake, failed check) prints one message, without a
traceback, and exits with its error's code (core/errors.py: 2 usage or input, 3 lake locked, 4 rows not
accounted for, 5 failed check), whichever command met it; only a bug in the lakehouse itself shows a traceback.
Option values are checked as arguments are parsed, before any work.
"""

from __future__ import annotations

import argparse
import atexit
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from core import allocators
from core.errors import LakehouseError, storage_problem
from core.lake import DATA_DIR_ENV, Lake
from pipelines.cli_export import add_export_command
from pipelines.cli_generate import add_generate_commands
from pipelines.cli_output import PRINTED, print_relation
from pipelines.cli_report import add_report_command
from pipelines.cli_sql import add_sql_command
from pipelines.cli_trades import add_trades_commands
from pipelines.cli_types import date, interval, memory_limit, port, positive_float, positive_int
from pipelines.history import KEEP_DAYS, KEEP_RUNS, prune, recent_runs

# Not argparse's default: it would pass it through memory_limit, which asks DuckDB (0.1 s) on every run
DEFAULT_MEMORY_LIMIT = "2GB"


def entry() -> NoReturn:
    """The `lakehouse` command: `main`, then out of the process at once. Tearing the interpreter down (every module,
    and the caches and frames a command leaves) cost 0.05-0.1 s after each command's work (0.08 s after a run of
    meters' silver); the kernel takes the memory back anyway. What must happen before a process ends still does:
    the exit handlers (logs flushed, the deletion of old versions waited for) and the standard streams flushed.
    A bug's traceback leaves the usual way."""
    try:
        code = main()
    except SystemExit as stop:  # argparse: --help, or a usage mistake, already printed
        if not isinstance(stop.code, int | None):
            raise
        code = stop.code or 0
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except OSError:  # a reader that went away (`lakehouse sql ... | head`): nothing more to give it
            pass
    atexit._run_exitfuncs()  # what the interpreter runs at exit (private, but in CPython since 3.0)
    os._exit(code)


def main(argv: Sequence[str] | None = None) -> int:
    allocators.tune()
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.print_help()
        return 2
    try:
        return args.handler(args) or 0
    except LakehouseError as error:
        print(f"lakehouse: error: {error}", file=sys.stderr)
        return error.exit_code
    except BrokenPipeError:  # e.g. `lakehouse sql ... | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print(
            "lakehouse: interrupted; published tables are intact, the next run finishes the work",
            file=sys.stderr,
        )
        return 130
    except Exception as error:  # the machine refused (disk full, read-only): said in one line; anything else is a bug
        problem = storage_problem(error)
        if problem is None:
            raise
        print(f"lakehouse: error: {problem}", file=sys.stderr)
        return LakehouseError.exit_code


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line that points at the help."""

    def error(self, message: str) -> None:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument(
        "--data-dir",
        default=argparse.SUPPRESS,
        help=f"lake root (default: ${DATA_DIR_ENV} or ./data)",
    )
    parser = _Parser(prog="lakehouse", description="A medallion lakehouse on local Parquet files.", parents=[common])
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    add_generate_commands(commands, common)
    add_trades_commands(commands, common)
    add_report_command(commands, common)
    add_export_command(commands, common)
    add_sql_command(commands, common)

    run = commands.add_parser(
        "run",
        parents=[common],
        help="bring silver and gold up to date",
        description="Ingest new bronze files into silver and rebuild stale gold models.",
    )
    run.add_argument("--domain", action="append", default=[], help="only this domain (repeatable)")
    run.add_argument(
        "--select",
        action="append",
        default=[],
        metavar="MODEL[+]",
        help="rebuild these gold models: MODEL, MODEL+ (and downstream), +MODEL (and upstream)",
    )
    run.add_argument("--full-refresh", action="store_true", help="rebuild every table from all of bronze")
    run.add_argument(
        "--date",
        type=date,
        default=None,
        help="reprocess this day: read its Hive-style bronze folder (date=YYYY-MM-DD) again, even if changed, "
        "and replace its rows in silver and gold",
    )
    run.add_argument("--layer", choices=["silver", "gold"], action="append", help="only this layer (repeatable)")
    run.add_argument(
        "--threads",
        type=positive_int,
        default=None,
        help="threads for silver and gold, and how many of a domain's tables or models run at once (default: all "
        "cores)",
    )
    run.add_argument(
        "--memory-limit",
        type=memory_limit,
        help="DuckDB memory limit before spilling: 2GB, 512MiB, 75%% (of the machine's memory) (default 2GB)",
    )
    run.add_argument(
        "--export",
        choices=["postgres"],
        default=None,
        help="then export the tables the run changed (PostgreSQL from --dsn, else $LAKEHOUSE_PG_DSN or libpq's "
        "defaults; see `lakehouse export postgres --help`)",
    )
    run.add_argument("--dsn", default=None, help="with --export postgres: a libpq URI without password")
    run.add_argument(
        "--engine",
        default=os.environ.get("LAKEHOUSE_ENGINE", "duckdb"),
        help="what builds gold models: duckdb or spark (default: $LAKEHOUSE_ENGINE or duckdb); silver stays polars, "
        "and DuckDB checks what either engine writes",
    )
    run.add_argument(
        "--spark-master", default="local[*]", help="with --engine spark: a local session's master (default local[*])"
    )
    run.add_argument(
        "--spark-remote",
        default=os.environ.get("LAKEHOUSE_SPARK_REMOTE"),
        metavar="sc://HOST:15002",
        help="with --engine spark: a Spark Connect server instead (default: $LAKEHOUSE_SPARK_REMOTE)",
    )
    run.set_defaults(handler=_run)

    refresh = commands.add_parser(
        "refresh",
        parents=[common],
        help="keep every layer up to date, cycle after cycle",
        description="The refresh service: every --every, ingest new bronze and update silver and gold; one JSON "
        "line per cycle. Stop it with Ctrl-C or SIGTERM.",
    )
    refresh.add_argument(
        "--every", type=interval, default="5m", help="time between cycle starts: 30s, 5m, 1h (default 5m)"
    )
    refresh.add_argument("--once", action="store_true", help="run one cycle and exit")
    refresh.add_argument("--domain", action="append", default=[], help="only this domain (repeatable)")
    refresh.add_argument("--threads", type=positive_int, default=None, help="threads (default: all cores)")
    refresh.add_argument(
        "--memory-limit", type=memory_limit, help="DuckDB memory limit: 2GB, 512MiB, 75%% (default 2GB)"
    )
    refresh.set_defaults(handler=_refresh)

    dashboard = commands.add_parser(
        "dashboard",
        parents=[common],
        help="serve the payments dashboard on 127.0.0.1",
        description="Serve the interactive payments dashboard (Streamlit) over the gold tables. Needs the optional "
        "dependencies: pip install -e '.[dashboard]', or `make dashboard`.",
    )
    dashboard.add_argument("--port", type=port, default=8501, help="port (default 8501)")
    dashboard.set_defaults(handler=_dashboard)

    history = commands.add_parser(
        "history",
        parents=[common],
        help="list recent runs, or prune old ones",
        description="List the newest runs from their manifests (data/_runs): id, status, seconds, files, rows in, "
        f"loaded, quarantined, duplicates and failed domains. The lake keeps the last {KEEP_RUNS:,} runs and none "
        f"older than {KEEP_DAYS} days, pruned at the end of every run.",
    )
    history.add_argument("--limit", type=positive_int, default=20, help="runs to list (default 20)")
    history.add_argument("--format", choices=PRINTED, default="table")
    history.add_argument("--prune", action="store_true", help="delete the manifests and logs beyond that now")
    history.set_defaults(handler=_history)

    docs = commands.add_parser(
        "docs",
        parents=[common],
        help="write the data dictionary",
        description="Write a Markdown data dictionary of every table from the contracts.",
    )
    docs.add_argument("--output", default=None, help="file to write (default: <data-dir>/docs/data-dictionary.md)")
    docs.set_defaults(handler=_docs)

    listing = commands.add_parser(
        "models",
        parents=[common],
        help="list gold models and their dependencies",
        description="List gold models, what they read and whether they are built.",
    )
    listing.set_defaults(handler=_models)

    bench = commands.add_parser(
        "bench",
        parents=[common],
        help="time generate, silver, gold and refresh cycles",
        description="Benchmark each domain end to end in scratch lakes under <data-dir>/_bench, then the PostgreSQL "
        "export against psql \\copy (skipped without PostgreSQL's binaries or the postgres extra).",
    )
    bench.add_argument(
        "--scale",
        type=positive_float,
        default=1.0,
        help="1 = 100 meters for a year; 20,000 subscribers for a week; 100,000 trades; 1,000 agencies' files of "
        "1,000 rows for 30 days; about 2 M rows exported to PostgreSQL",
    )
    bench.add_argument("--workers", type=positive_int, default=os.cpu_count() or 1)
    bench.add_argument(
        "--domain",
        choices=["targets", "meters", "telecom", "payments", "trades", "ratings", "export"],
        action="append",
        help="only this part (targets: make pipeline and the command line against issue 15's targets; export: the "
        "PostgreSQL export against psql \\copy)",
    )
    bench.add_argument(
        "--engine",
        choices=["duckdb", "spark"],
        default="duckdb",
        help="spark: instead, time gold on DuckDB and on Spark side by side at scale 1 and 10 (--scale does not "
        "apply) and check both write the same rows (skipped, in one line, without pyspark or Java)",
    )
    bench.set_defaults(handler=_bench)
    return parser


def _lake(args: argparse.Namespace) -> Lake:
    return Lake.locate(getattr(args, "data_dir", None))


def _run(args: argparse.Namespace) -> int:
    from pipelines.run import RunOptions, run

    options = RunOptions(
        tuple(args.domain),
        tuple(args.select),
        args.full_refresh,
        tuple(args.layer or ("silver", "gold")),
        args.threads,
        args.memory_limit or DEFAULT_MEMORY_LIMIT,
        date=args.date.isoformat() if args.date else None,
        engine=args.engine,
        spark_master=args.spark_master,
        spark_remote=args.spark_remote,
    )
    lake = _lake(args)
    run(lake, options, " ".join(["lakehouse", *sys.argv[1:]]))  # a failed run raises
    if args.export == "postgres":  # what the run rebuilt is what the database does not hold yet
        from pipelines.cli_export import export_to_postgres
        from pipelines.selection import resolve_domains

        export_to_postgres(lake, resolve_domains(tuple(args.domain)), args.dsn)
    return 0


def _refresh(args: argparse.Namespace) -> int:
    from pipelines.refresh import serve
    from pipelines.run import RunOptions

    options = RunOptions(
        tuple(args.domain), threads=args.threads, memory_limit=args.memory_limit or DEFAULT_MEMORY_LIMIT
    )
    return serve(_lake(args), options, args.every, args.once, " ".join(["lakehouse", *sys.argv[1:]]))


def _dashboard(args: argparse.Namespace) -> int:
    import importlib.util

    if importlib.util.find_spec("streamlit") is None:
        raise LakehouseError(
            "the dashboard needs its optional dependencies: pip install -e '.[dashboard]', or run `make dashboard`"
        )
    lake = _lake(args)
    if not lake.catalog.exists():
        raise LakehouseError(f"no catalog at {lake.catalog}; run `lakehouse generate payments` and `lakehouse run`")
    from pipelines.catalog import ensure_current

    ensure_current(lake)  # a copied or moved lake's catalog is repaired before the dashboard reads it
    app = Path(__file__).parent / "dashboard" / "app.py"
    streamlit = [sys.executable, "-m", "streamlit", "run", str(app), "--server.address", "127.0.0.1"]
    options = ["--server.port", str(args.port), "--server.headless", "true", "--browser.gatherUsageStats", "false"]
    os.environ[DATA_DIR_ENV] = str(lake.root)
    os.execv(sys.executable, [*streamlit, *options])


def _history(args: argparse.Namespace) -> int:
    import duckdb
    import pyarrow as pa

    lake = _lake(args)
    if args.prune:
        print(f"pruned {prune(lake)} manifest(s) and log(s)")
        return 0
    runs = recent_runs(lake, args.limit)
    if not runs:
        print(f"no runs yet in {lake.root}", file=sys.stderr)
        return 0
    print_relation(duckdb.connect().from_arrow(pa.Table.from_pylist(runs)), args.format)
    return 0


def _docs(args: argparse.Namespace) -> int:
    from pipelines.docs import write_dictionary

    lake = _lake(args)
    path = write_dictionary(args.output or lake.root / "docs" / "data-dictionary.md")
    print(f"wrote {path}")
    return 0


def _models(args: argparse.Namespace) -> int:
    from core.store import TableStore
    from gold.models import models

    lake = _lake(args)
    for name, model in models().items():
        state = TableStore(lake, model.table).state()
        built = f"built {state['rows']:,} rows" if state else "not built"
        print(f"{name}  ({built})\n    reads: {', '.join(model.depends_on) or '-'}")
    return 0


def _bench(args: argparse.Namespace) -> int:
    if args.engine == "spark":
        from pipelines.bench_engines import DOMAINS, bench_engines
        from pipelines.selection import resolve_domains

        bench_engines(_lake(args), args.workers, tuple(resolve_domains(tuple(args.domain))) if args.domain else DOMAINS)
        return 0

    from pipelines.bench import bench_meters
    from pipelines.bench_export import bench_export
    from pipelines.bench_payments import bench_payments
    from pipelines.bench_ratings import bench_ratings
    from pipelines.bench_targets import bench_targets
    from pipelines.bench_telecom import bench_telecom
    from pipelines.bench_trades import bench_trades

    benches = {
        "targets": bench_targets,
        "meters": bench_meters,
        "telecom": bench_telecom,
        "payments": bench_payments,
        "trades": bench_trades,
        "ratings": bench_ratings,
        "export": bench_export,
    }
    for domain in args.domain or list(benches):
        benches[domain](_lake(args), args.scale, args.workers)
    return 0


if __name__ == "__main__":
    entry()

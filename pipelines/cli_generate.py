"""`lakehouse generate <domain>` and `generate all`: the options of each domain's generator, and running it."""

from __future__ import annotations

import argparse
import datetime as dt
import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from core import allocators, logs
from core.lake import Lake
from pipelines.cli_types import date, datetime, positive_float, positive_int
from pipelines.history import RUN_ID_FORMAT

if TYPE_CHECKING:  # generators are imported when a command runs: `lakehouse --help` stays quick
    from generators.meters import MetersParams
    from generators.payments import PaymentsParams
    from generators.ratings import RatingsParams
    from generators.telecom import TelecomParams
    from generators.trades import TradesParams


def add_generate_commands(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    generate = commands.add_parser(
        "generate",
        parents=[common],
        help="write synthetic bronze CSV for a domain",
        description="Write synthetic bronze CSV files, deterministically.",
    )
    domains = generate.add_subparsers(title="domains", metavar="DOMAIN", required=True)
    meters = domains.add_parser(
        "meters",
        parents=[common],
        help="smart-meter billing (IESCO)",
        description="Meters, interval readings, monthly bills and payments.",
    )
    meters.add_argument("--meters", type=positive_int, default=100, help="number of meters (default 100)")
    meters.add_argument("--start", type=date, default=dt.date(2024, 1, 1), help="first day (default 2024-01-01)")
    meters.add_argument("--end", type=date, default=dt.date(2024, 12, 31), help="last day (default 2024-12-31)")
    meters.add_argument("--interval", type=positive_int, default=60, help="minutes between readings (default 60)")
    _generator_options(meters, "--meters")
    meters.set_defaults(handler=_generate_meters, params=_meters)
    telecom = domains.add_parser(
        "telecom",
        parents=[common],
        help="telecom CDR, forex and CRM feeds (WTC)",
        description="CRM accounts, CDR data usage and voice calls, forex quotes. The first run writes --days of "
        "history; --minutes N then appends the next N minutes of every feed, as live feeds would.",
    )
    telecom.add_argument("--subscribers", type=positive_int, default=20_000, help="subscribers (default 20000)")
    telecom.add_argument(
        "--start", type=datetime, default=dt.datetime(2024, 1, 1), help="first moment (default 2024-01-01)"
    )
    telecom.add_argument("--days", type=positive_float, default=7.0, help="days of history (default 7)")
    telecom.add_argument("--minutes", type=positive_int, default=None, help="append the next N minutes instead")
    _generator_options(telecom, "--subscribers")
    telecom.set_defaults(handler=_generate_telecom, params=_telecom)
    payments = domains.add_parser(
        "payments",
        parents=[common],
        help="daily payment transactions (Batch Analytics Platform)",
        description="Customers, cities, channels and a Hive-style folder of transactions per day "
        "(transactions/date=YYYY-MM-DD/). Days already written are kept; new days are added.",
    )
    payments.add_argument("--date", type=date, default=None, help="just this day (instead of --start/--end)")
    payments.add_argument("--start", type=date, default=dt.date(2024, 1, 1), help="first day (default 2024-01-01)")
    payments.add_argument("--end", type=date, default=dt.date(2024, 12, 31), help="last day (default 2024-12-31)")
    payments.add_argument("--per-day", type=positive_int, default=500, help="mean transactions a day (default 500)")
    payments.add_argument("--customers", type=positive_int, default=1_000, help="customers (default 1000)")
    rhythm = payments.add_argument_group(
        "daily volume",
        "Days vary around --per-day, which is the mean over --base-year. A rhythm at its neutral value (weekend 1, "
        "the others 0) is left out.",
    )
    rhythm.add_argument(
        "--weekend",
        type=float,
        default=0.75,
        metavar="FACTOR",
        help="a Saturday's or Sunday's volume relative to a weekday's (default 0.75)",
    )
    rhythm.add_argument(
        "--season",
        type=float,
        default=0.15,
        metavar="FRACTION",
        help="± this fraction over the year, highest mid-November (default 0.15)",
    )
    rhythm.add_argument(
        "--growth",
        type=float,
        default=0.2,
        metavar="FRACTION",
        help="growth a year, compounded: 0.2 is 20 %% a year (default 0.2)",
    )
    rhythm.add_argument(
        "--festivals",
        type=float,
        default=1.0,
        metavar="FACTOR",
        help="factor on the festivals' peaks (Diwali: twice a day's volume at 1; default 1)",
    )
    rhythm.add_argument(
        "--base-year", type=int, default=2024, metavar="YEAR", help="the year whose mean is --per-day (default 2024)"
    )
    _generator_options(payments, "--per-day")
    payments.set_defaults(handler=_generate_payments, params=_payments)
    trades = domains.add_parser(
        "trades",
        parents=[common],
        help="client accounts and stock trades (neotransact)",
        description="Clients, and a drop of stock trades per month: CSV files, and every Nth month an Excel "
        "workbook with a sheet per week, as the source's users filed them.",
    )
    trades.add_argument("--clients", type=positive_int, default=1_000, help="clients (default 1000)")
    trades.add_argument("--transactions", type=positive_int, default=100_000, help="trades (default 100000)")
    trades.add_argument("--start", type=date, default=dt.date(2023, 1, 1), help="first day (default 2023-01-01)")
    trades.add_argument("--end", type=date, default=dt.date(2025, 12, 31), help="last day (default 2025-12-31)")
    trades.add_argument(
        "--workbook-every", type=positive_int, default=12, help="every Nth month is an .xlsx workbook (default 12)"
    )
    _generator_options(trades, "--clients and --transactions")
    trades.set_defaults(handler=_generate_trades, params=_trades)
    ratings = domains.add_parser(
        "ratings",
        parents=[common],
        help="daily customer-rating files from agencies",
        description="A file per agency per day, a full load of its customers, named as the source's files: "
        "agency_files/YYYY-MM-DD/Customer Rating Agency A Inc.csv.",
    )
    ratings.add_argument("--agencies", type=positive_int, default=4, help="agencies (default 4)")
    ratings.add_argument("--days", type=positive_int, default=30, help="days of files (default 30)")
    ratings.add_argument("--customers", type=positive_int, default=20, help="rows in each file (default 20)")
    ratings.add_argument("--start", type=date, default=dt.date(2025, 4, 14), help="first day (default 2025-04-14)")
    _generator_options(ratings, "--customers")
    ratings.set_defaults(handler=_generate_ratings, params=_ratings)
    everything = domains.add_parser(
        "all",
        parents=[common],
        help="every domain, with its defaults",
        description="Every domain's bronze with its default options, in one command: what `generate meters`, "
        "`generate telecom`, `generate payments`, `generate trades` and `generate ratings` would write and say (a "
        "domain already generated is left as it is). With enough work, domains run side by side in worker "
        "processes; the bronze is the same either way. A domain that fails ends the command once those under way "
        "are done.",
    )
    everything.add_argument(
        "--workers", type=positive_int, default=os.cpu_count() or 1, help="domains generated at once (threads)"
    )
    parsers = {"meters": meters, "telecom": telecom, "payments": payments, "trades": trades, "ratings": ratings}
    everything.set_defaults(handler=lambda args: _generate_all(args, parsers))


def _generator_options(parser: argparse.ArgumentParser, scaled: str) -> None:
    """What every generator takes: seed, scale, workers and dirty-data rates."""
    parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    parser.add_argument("--scale", type=positive_float, default=1.0, help=f"factor on {scaled} (default 1)")
    parser.add_argument("--workers", type=positive_int, default=os.cpu_count() or 1, help="tasks run at once (threads)")
    parser.add_argument("--dirt", default=None, metavar="KIND=RATE,...", help="override dirty-data rates")
    parser.add_argument("--clean", action="store_true", help="inject no dirty data (rates from --dirt still apply)")


def _generate_meters(args: argparse.Namespace) -> int:
    from generators.meters import generate

    params = _meters(args)
    return _generated(args, "meters", lambda lake: generate(lake, params, args.workers))


def _meters(args: argparse.Namespace) -> MetersParams:
    from generators.meters import MetersDirt, MetersParams

    return MetersParams(
        args.meters,
        args.start,
        args.end,
        args.interval,
        args.seed,
        args.scale,
        MetersDirt.parse(args.dirt, args.clean),
    )


def _generate_telecom(args: argparse.Namespace) -> int:
    from generators.telecom import generate

    params = _telecom(args)
    return _generated(args, "telecom", lambda lake: generate(lake, params, args.workers, args.minutes))


def _telecom(args: argparse.Namespace) -> TelecomParams:
    from generators.telecom import TelecomDirt, TelecomParams

    return TelecomParams(
        args.subscribers,
        args.start,
        args.start + dt.timedelta(days=args.days),
        args.seed,
        args.scale,
        TelecomDirt.parse(args.dirt, args.clean),
    )


def _generate_payments(args: argparse.Namespace) -> int:
    from generators.payments import generate

    params = _payments(args)
    return _generated(args, "payments", lambda lake: generate(lake, params, args.workers))


def _payments(args: argparse.Namespace) -> PaymentsParams:
    from generators.payments import PaymentsDirt, PaymentsParams
    from generators.payments.rhythm import Rhythm

    start, end = (args.date, args.date) if args.date else (args.start, args.end)
    rhythm = Rhythm(args.weekend, args.season, args.growth, args.festivals, args.base_year)
    return PaymentsParams(
        start,
        end,
        args.per_day,
        args.customers,
        args.seed,
        args.scale,
        PaymentsDirt.parse(args.dirt, args.clean),
        rhythm,
    )


def _generate_trades(args: argparse.Namespace) -> int:
    from generators.trades import generate

    params = _trades(args)
    return _generated(args, "trades", lambda lake: generate(lake, params, args.workers))


def _trades(args: argparse.Namespace) -> TradesParams:
    from generators.trades import TradesDirt, TradesParams

    return TradesParams(
        args.clients,
        args.transactions,
        args.start,
        args.end,
        args.seed,
        args.scale,
        args.workbook_every,
        TradesDirt.parse(args.dirt, args.clean),
    )


def _generate_ratings(args: argparse.Namespace) -> int:
    from generators.ratings import generate

    params = _ratings(args)
    return _generated(args, "ratings", lambda lake: generate(lake, params, args.workers))


def _ratings(args: argparse.Namespace) -> RatingsParams:
    from generators.ratings import RatingsDirt, RatingsParams

    return RatingsParams(
        args.agencies,
        args.days,
        args.customers,
        args.start,
        args.seed,
        args.scale,
        RatingsDirt.parse(args.dirt, args.clean),
    )


def _generate_all(args: argparse.Namespace, domains: dict[str, argparse.ArgumentParser]) -> int:
    """Every domain as its own command would generate it with no options, in this one command: imports paid
    once, and domains side by side in threads."""
    from generators.domains import generate_domains

    defaults = {name: parser.parse_args([]) for name, parser in domains.items()}
    params = {name: options.params(options) for name, options in defaults.items()}
    lake = _lake(args)
    for name, totals in zip(params, generate_domains(lake, params, args.workers)):
        _report_generated(name, totals)
    return 0


def _generated(args: argparse.Namespace, domain: str, generate: Callable[[Lake], dict[str, dict[str, int]]]) -> int:
    """Run a domain's generator on the chosen lake, logging to its own file, and report what it wrote."""
    _report_generated(domain, generate(_lake(args)))
    return 0


def _lake(args: argparse.Namespace) -> Lake:
    """The chosen lake, with this command's log file; and glibc's malloc set for the generators' large arrays."""
    allocators.for_large_arrays()
    lake = Lake.locate(getattr(args, "data_dir", None))
    logs.setup(lake.logs / f"generate-{dt.datetime.now(dt.timezone.utc).strftime(RUN_ID_FORMAT)}.jsonl")
    return lake


def _report_generated(domain: str, totals: dict[str, dict[str, int]]) -> None:
    for table, counts in totals.items():
        logs.event(
            "generated",
            f"bronze {domain}.{table}: {counts['written']} file(s) written, {counts['rows']:,} rows"
            + (f"; {counts['present']} already present" if counts["present"] else ""),
            table=f"{domain}.{table}",
            **counts,
        )

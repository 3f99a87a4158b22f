"""`lakehouse report DOMAIN`: a domain's report file, as its source system wrote it."""

from __future__ import annotations

import argparse
import datetime as dt

from core.lake import Lake
from pipelines.cli_types import compact_date
from pipelines.report import REPORTS


def add_report_command(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    report = commands.add_parser(
        "report",
        parents=[common],
        help="write a domain's report file",
        description="Write a report from its gold table into <data-dir>/reports/<domain>/ (atomically) and print "
        "its path. ratings: Customer_Rating_Aggregate_Report_YYYYMMDD.csv from "
        "gold_ratings.agg_customer_rating_report.",
    )
    report.add_argument("domain", choices=sorted(REPORTS), metavar="DOMAIN", help=f"one of: {', '.join(REPORTS)}")
    report.add_argument(
        "--date", type=compact_date, default=None, metavar="YYYYMMDD", help="the report's date (default: today)"
    )
    report.set_defaults(handler=_report)


def _report(args: argparse.Namespace) -> int:
    from pipelines.report import write_report

    lake = Lake.locate(getattr(args, "data_dir", None))
    print(write_report(lake, args.domain, args.date or dt.date.today()))
    return 0

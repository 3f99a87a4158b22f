"""Reports: a gold table written as the CSV file its source system produced, e.g. the customer-rating report.

A report is read from the published version of its gold table (one version, even while a run publishes the
next) and written atomically, so a reader never sees half a report.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import contracts
from core.errors import LakehouseError
from core.lake import Lake
from core.store import DATA, TableStore, read_table, write_atomically


@dataclass(frozen=True)
class Report:
    table: str  # the gold table, e.g. gold_ratings.agg_customer_rating_report
    name: str  # the file name, with {date} for YYYYMMDD
    order_by: tuple[str, ...]


REPORTS = {
    "ratings": Report(
        "gold_ratings.agg_customer_rating_report", "Customer_Rating_Aggregate_Report_{date}.csv", ("customer",)
    ),
}


def write_report(lake: Lake, domain: str, day: dt.date) -> Path:
    """Write a domain's report for `day` under reports/<domain>/; returns its path."""
    report = REPORTS[domain]
    table = contracts.by_name(report.table)
    store = TableStore(lake, table)
    state = store.state()
    if state is None:
        raise LakehouseError(
            f"{report.table} has not been built; run `lakehouse run --domain {domain}` first, then the report"
        )
    rows = read_table(store.versions / state["version"] / DATA, table, [c.name for c in table.columns])
    content = rows.sort(report.order_by).write_csv(line_terminator="\n")
    path = lake.reports / domain / report.name.format(date=f"{day:%Y%m%d}")
    write_atomically(path, content.encode())
    return path

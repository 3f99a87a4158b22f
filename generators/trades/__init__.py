"""The trades generator (neotransact): clients, and a drop of stock trades per month, as CSV or Excel workbooks.

`bronze/trades/clients/clients.csv` holds the clients; `bronze/trades/transactions/` a file per month, every Nth
month (`--workbook-every`) an .xlsx workbook with a sheet per week, as the source's users filed them, the others
CSV. What a month holds is a pure function of the seed and the month, so the bronze is byte-identical for any
number of workers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from pathlib import Path

import polars as pl

from contracts.trades import silver
from core.lake import Lake
from generators.core import WorkbookFile, count_file, remember_parameters, rng_for
from generators.dirt import clean_file, ledger, render, render_cells
from generators.tasks import run_tasks
from generators.trades.params import TradesDirt, TradesParams
from generators.trades.population import clients
from generators.trades.transactions import NUMERIC, SHEET, WEEKS, month_counts, month_drop

__all__ = ["TradesDirt", "TradesParams", "generate"]


@dataclass(frozen=True)
class _Month:
    root: str
    params: TradesParams
    index: int  # position in the period: every `workbook_every`-th month is a workbook
    month: dt.date
    first_number: int
    count: int


def generate(lake: Lake, params: TradesParams, workers: int) -> dict[str, dict[str, int]]:
    """Write the clients and every month's drop; files already written are left as they are."""
    remember_parameters(lake, "trades", asdict(params), extendable=set())
    totals: dict[str, dict[str, int]] = {}
    people = clients(params).select(c.name for c in silver.clients.source_columns)
    count_file(totals, "clients", *clean_file(silver.clients, people, params.seed).write(lake))
    counts = month_counts(params)
    starts = [sum(counts[:i]) for i in range(len(counts))]
    tasks = [
        _Month(str(lake.root), params, i, month, first, count)
        for i, (month, first, count) in enumerate(zip(params.months(), starts, counts))
    ]
    for written, rows in run_tasks(_write_month, tasks, workers, desc="generate trades"):
        count_file(totals, "transactions", written, rows)
    return totals


def _write_month(task: _Month) -> tuple[bool, int]:
    lake = Lake(Path(task.root))
    rows = month_drop(task.params, task.month, task.first_number, task.count)
    rng = rng_for(task.params.seed, "trades-render", task.month.isoformat())
    name = f"transactions_{task.month:%Y-%m}"
    if (task.index + 1) % task.params.workbook_every:
        return render(rows, silver.transactions, rng, NUMERIC, f"{name}.csv").write(lake)
    cells = render_cells(rows, silver.transactions, rng, NUMERIC).with_columns(rows[SHEET])
    sheets = {week: cells.filter(pl.col(SHEET) == week).drop(SHEET) for week in WEEKS}
    ledgers = [ledger(rows.filter(pl.col(SHEET) == week)).with_columns(pl.lit(week).alias("sheet")) for week in WEEKS]
    sheets = {week: cells for week, cells in sheets.items() if len(cells) or week == WEEKS[0]}
    return WorkbookFile(silver.transactions, f"{name}.xlsx", sheets, pl.concat(ledgers)).write(lake)

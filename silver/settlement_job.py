"""Bring `silver_trades.settlements` up to date with silver's transactions and clients, incrementally and atomically.

Settlement carries each client's account from one trade to the next, so the table is sequential by year: a run
rebuilds from the first year whose transactions changed (a late file holding an old trade re-settles from that
year on) and links the years before it. Each year's version also keeps every client's account at the end of that
year (`carry/`, private to the table), which is where a rebuild starts from, so a new month costs the year it
lands in rather than the whole history. A client whose opening balance or status changed is re-settled from the
start. Within a year, runs of consecutive months are settled in order, about BUCKET_ROWS transactions in memory
at a time, each run written sorted by client and date. The result is checked against the contract and published in
one atomic step, as any table.
"""

from __future__ import annotations

import datetime as dt
import inspect
import time
from pathlib import Path
from typing import Any

import polars as pl

import contracts
from contracts.schema import Table
from core.checks import check_rows
from core.duck import View, connect, view_sql
from core.errors import ConservationError
from core.lake import Lake
from core.plan import plan
from core.store import DATA, ZSTD_LEVEL, TableStore, link_files
from silver import computed, merging, settlement
from silver.result import SilverResult

CARRY = "carry"  # per year: every client's account at the end of it, for the next rebuild to start from
OPENING_FILE = "opening.parquet"  # the clients' opening accounts this version was settled from
# Client ids are 8 lowercase hex digits (their contract's pattern), so their numeric order is their text order, and
# sorting by the number costs a third less than by the text.
_CLIENT_NUMBER = pl.col("client_id").str.to_integer(base=16)


class SettlementJob:
    def __init__(self, lake: Lake, table: Table, run_id: str, full_refresh: bool = False):
        self.lake, self.table, self.run_id = lake, table, run_id
        self.store = TableStore(lake, table)
        self.previous = None if full_refresh else self.store.reusable_state()
        self.trades = TableStore(lake, contracts.get("silver", table.domain, "transactions"))
        self.clients = TableStore(lake, contracts.get("silver", table.domain, "clients"))

    @staticmethod
    def warm_up() -> None:
        """Load what settling needs (the compiled loop) ahead of the run's turn."""
        settlement.compiled()

    def run(self) -> SilverResult:
        started = time.monotonic()
        trades_state = self.trades.state()
        months = self._months_by_year(trades_state)
        identity = {"rules": inspect.getsource(settlement), "contract": repr(self.table)}
        # a year's input is its months: it changed when any of their versions did
        versions = {year: {"version": " ".join(trades_state["partitions"][m]["version"] for m in ms)}
                    for year, ms in months.items()}  # fmt: skip
        tracked = {self.trades.table.qualified_name: {"partitions": versions}}
        work = plan(self.table, identity, tracked, self.previous)
        opening = self._opening()
        if self.previous and (work is None or work.rebuild is not None) and self._clients_changed(opening):
            work = plan(self.table, identity, tracked, self.previous, force=True)
        if work is None:
            return SilverResult(self.table, "up_to_date", self.previous["version"], totals=self.previous["rows"])

        version_dir = self.store.new_version(self.run_id)
        years = sorted(months)
        first = min(work.rebuild, default=None) if work.rebuild is not None else min(years, default=None)
        kept = [y for y in years if first is None or y < first]
        for year in kept:
            for folder in (DATA, CARRY):
                previous = self._year_dir(self.store.current_dir() / folder, year)
                link_files(previous, self._year_dir(version_dir / folder, year))
        rebuilt = [y for y in years if y not in kept]
        carried = self._carry(self.store.current_dir(), kept[-1]) if kept else pl.DataFrame(schema=settlement.OPENING)
        written = self._settle(version_dir, trades_state, {y: months[y] for y in rebuilt}, opening, carried)
        partitions = {y: self.previous["partitions"][y] for y in kept} | {
            y: {"rows": rows, "version": self.run_id} for y, rows in written.items()
        }
        if not partitions:  # no trades yet: an empty table, with its schema
            self._empty().write_parquet(version_dir / DATA / "part-0.parquet")
            partitions = {"": {"rows": 0, "version": self.run_id}}
        opening.write_parquet(version_dir / OPENING_FILE)
        self._check(version_dir, rebuilt, partitions, trades_state)
        return computed.publish(self.store, version_dir, self.run_id, self.previous, work, partitions, started)

    # -- where settlement starts -----------------------------------------------------------------------------

    def _opening(self) -> pl.DataFrame:
        """Every client's account as filed: its balance, no debt, its status."""
        rows = pl.read_parquet(self.lake.table_path(self.clients.table) / "*.parquet")
        return rows.select(
            "client_id",
            pl.col("account_balance").alias("balance"),
            pl.lit(0).cast(settlement.OPENING["debt"]).alias("debt"),
            "status",
        ).sort("client_id")

    def _clients_changed(self, opening: pl.DataFrame) -> bool:
        """Whether a client settled before has another opening account now (new clients change nothing already
        settled: their trades arrive as changed transaction partitions)."""
        before = pl.read_parquet(self.store.current_dir() / OPENING_FILE)
        return not before.join(opening, on=before.columns, how="anti", nulls_equal=True).is_empty()

    def _carry(self, version_dir: Path, year: str) -> pl.DataFrame:
        return pl.read_parquet(self._year_dir(version_dir / CARRY, year) / "*.parquet")

    # -- settling ------------------------------------------------------------------------------------------------

    def _settle(
        self,
        target: Path,
        trades_state: dict[str, Any],
        years: dict[str, list[str]],
        opening: pl.DataFrame,
        carried: pl.DataFrame,
    ) -> dict[str, int]:
        """Settle the transactions of `years` (each with its months) month after month, from the accounts `carried`
        from the year before (or as opened); returns the rows written per year.

        A month partition holds exactly the transactions dated in it, so settling the months in order settles every
        client's transactions in date order; consecutive months are settled together up to about BUCKET_ROWS
        transactions (a month at least), so memory holds about that many at a time."""
        source = self.lake.versions_dir(self.trades.table) / trades_state["version"] / DATA
        column = self.trades.table.partition.column
        # Hive-style: the year is in the folder names only
        columns = [c.name for c in self.table.columns if c.name != self.table.partition.column]
        written = {}
        accounts = opening.update(carried, on="client_id", how="left")  # every account as the first year begins
        sizes = {month: facts["rows"] for month, facts in trades_state["partitions"].items()}
        for year, months in years.items():
            written[year] = 0
            for number, group in enumerate(merging.runs({m: sizes[m] for m in months}, merging.BUCKET_ROWS)):
                trades = pl.read_parquet([source / f"{column}={month}" / "*.parquet" for month in group])
                trades = trades.sort(_CLIENT_NUMBER, "transaction_date", "transaction_id")
                settled = settlement.settle(trades, accounts).with_columns(pl.lit(year).alias("year"))
                self._write(target / DATA, year, number, settled.select(columns))
                ends = _last_accounts(settled)
                accounts = accounts.update(ends, on="client_id", how="left")
                carried = pl.concat([carried, ends])
                written[year] += len(settled)
            carried = carried.unique("client_id", keep="last", maintain_order=True).sort("client_id")
            self._write(target / CARRY, year, 0, carried)
        return written

    def _months_by_year(self, trades_state: dict[str, Any]) -> dict[str, list[str]]:
        """The transactions' month partitions of each year (the settlement's partitions)."""
        read, write = self.trades.table.partition.format, self.table.partition.format
        years: dict[str, list[str]] = {}
        for month in sorted(p for p in trades_state["partitions"] if p):
            years.setdefault(dt.datetime.strptime(month, read).strftime(write), []).append(month)
        return years

    def _write(self, folder: Path, year: str, number: int, rows: pl.DataFrame) -> None:
        """A part of a year: runs of months numbered in order, zero-padded so that file order is month order."""
        directory = self._year_dir(folder, year)
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"part-{number:05d}.parquet"
        rows.write_parquet(path, compression="zstd", compression_level=ZSTD_LEVEL, statistics=True)

    def _year_dir(self, folder: Path, year: str) -> Path:
        return folder / f"{self.table.partition.column}={year}"

    def _empty(self) -> pl.DataFrame:
        return pl.DataFrame(schema={c.name: c.type.polars for c in self.table.columns})

    # -- before publishing ---------------------------------------------------------------------------------------

    def _check(self, version_dir: Path, rebuilt: list[str], partitions: dict, trades_state: dict) -> None:
        """Every transaction settled once, and what settlement added to the rebuilt years as the contract says.
        The rest was checked in silver transactions; the key and foreign keys hold by construction (each row is a
        transaction's own), and gold checks them again downstream."""
        total, expected = sum(p["rows"] for p in partitions.values()), trades_state["rows"]["loaded"]
        if total != expected:
            raise ConservationError(
                f"{self.table.qualified_name} settled {total:,} transactions of {expected:,}; the new version was "
                "not published and the previous one stays current; please report this as a bug"
            )
        if not rebuilt:
            return
        con = connect(self.lake)
        try:
            paths = [self._year_dir(version_dir / DATA, y) for y in rebuilt]
            for statement in view_sql(View.of(self.table, paths)):
                con.execute(statement)
            added = [c.name for c in self.table.columns if c.name not in self.trades.table.column_index]
            failures = check_rows(con, self.table, foreign_keys=False, columns=added)
        finally:
            con.close()
        computed.refuse(self.store, failures)


def _last_accounts(settled: pl.DataFrame) -> pl.DataFrame:
    """Each client's account after its last transaction (transactions in settlement order)."""
    return settled.filter(pl.col("client_id").is_last_distinct()).select(
        "client_id",
        pl.col("balance_after").alias("balance"),
        pl.col("debt_after").alias("debt"),
        pl.col("status_after").alias("status"),
    )

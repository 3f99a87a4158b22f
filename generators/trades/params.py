"""What the trades generator is asked to produce."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from core.errors import LakehouseError
from generators.dirt import DirtRates


@dataclass(frozen=True)
class TradesDirt(DirtRates):
    """Rates per transaction row. Sells filed negative and late rows are not defects: silver loads them."""

    unknown_client: float = 0.002
    duplicate: float = 0.004
    unknown_currency: float = 0.001
    unknown_type: float = 0.001
    amount_mismatch: float = 0.002
    before_opening: float = 0.001
    malformed: float = 0.002
    malformed_date: float = 0.001
    negative_sell: float = 0.02  # of the sells: the source system's habit of filing sells negative
    late: float = 0.005  # a trade of the month before, filed in this month's drop


@dataclass(frozen=True)
class TradesParams:
    clients: int = 1_000
    transactions: int = 100_000
    start: dt.date = dt.date(2023, 1, 1)
    end: dt.date = dt.date(2025, 12, 31)  # inclusive
    seed: int = 42
    scale: float = 1.0  # factor on clients and transactions
    workbook_every: int = 12  # every Nth monthly drop is an Excel workbook, the others CSV
    dirt: TradesDirt = field(default_factory=TradesDirt)

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise LakehouseError(f"--end {self.end} is before --start {self.start}")
        if self.client_count < 1 or self.transaction_count < 1:
            raise LakehouseError("--clients and --transactions, times --scale, must be at least 1")

    @property
    def client_count(self) -> int:
        return round(self.clients * self.scale)

    @property
    def transaction_count(self) -> int:
        return round(self.transactions * self.scale)

    def months(self) -> list[dt.date]:
        """The first day of every month the period touches."""
        first, months = self.start.replace(day=1), []
        while first <= self.end:
            months.append(first)
            first = (first + dt.timedelta(days=32)).replace(day=1)
        return months

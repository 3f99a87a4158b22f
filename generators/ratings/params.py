"""What the ratings generator is asked to produce."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from core.errors import LakehouseError
from generators.dirt import DirtRates


@dataclass(frozen=True)
class RatingsDirt(DirtRates):
    """Rates per row of the defects agency files carry; each row has one at most. A blank line is added, not a row
    broken; a number padded with spaces or a sign (`padded`) is no defect: silver loads it."""

    letters: float = 0.02  # a letter in a number: 11118d14971
    overflow: float = 0.005  # a number outside PostgreSQL's integer
    blank: float = 0.005  # an empty line after the row
    short: float = 0.005  # the last field missing
    long: float = 0.005  # one field too many
    long_status: float = 0.005  # a status longer than varchar(25)
    padded: float = 0.01


@dataclass(frozen=True)
class RatingsParams:
    agencies: int = 4
    days: int = 30
    customers: int = 20  # rows in each agency's daily file
    start: dt.date = dt.date(2025, 4, 14)  # the last default day is 2025-05-13, the reference report's
    seed: int = 42
    scale: float = 1.0  # factor on customers
    dirt: RatingsDirt = field(default_factory=RatingsDirt)

    def __post_init__(self) -> None:
        if self.customer_count < 1:
            raise LakehouseError("--customers times --scale must be at least 1")

    @property
    def customer_count(self) -> int:
        return round(self.customers * self.scale)

    def dates(self) -> list[dt.date]:
        return [self.start + dt.timedelta(days=d) for d in range(self.days)]

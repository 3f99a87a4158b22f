"""What the telecom generator is asked to produce."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from core.errors import LakehouseError
from generators.dirt import DirtRates

LATEST_DELAY = dt.timedelta(hours=6)  # no event arrives later than this after it happened


@dataclass(frozen=True)
class TelecomDirt(DirtRates):
    """Rates of feed defects, per row. Late events are not defects: silver loads them into their own day."""

    malformed: float = 0.0002
    duplicate: float = 0.001
    unknown_msisdn: float = 0.0005
    negative: float = 0.0003
    late: float = 0.003  # CDR records held back by up to LATEST_DELAY
    forex_malformed: float = 0.00005
    forex_duplicate: float = 0.0002


@dataclass(frozen=True)
class TelecomParams:
    subscribers: int = 20_000
    start: dt.datetime = dt.datetime(2024, 1, 1)
    end: dt.datetime = dt.datetime(2024, 1, 8)  # exclusive: bronze holds what arrived before it
    seed: int = 42
    scale: float = 1.0
    dirt: TelecomDirt = field(default_factory=TelecomDirt)
    bursts_per_day: float = 1.5  # per subscriber: stretches of activity, mostly on one tower
    tick_seconds: float = 0.5  # mean time between forex quotes

    def __post_init__(self) -> None:
        if self.subscriber_count < 1:
            raise LakehouseError("--subscribers times --scale must give at least one subscriber")
        if self.end <= self.start:
            raise LakehouseError(f"the period ends ({self.end}) before it starts ({self.start}); use a later --end")

    @property
    def subscriber_count(self) -> int:
        return round(self.subscribers * self.scale)

    @property
    def tower_count(self) -> int:
        return max(20, self.subscriber_count // 50)

"""What the meters generator is asked to produce."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from core.errors import LakehouseError
from generators.dirt import DirtRates


@dataclass(frozen=True)
class MetersDirt(DirtRates):
    """Rates of injected problems. Physical anomalies are true readings (silver flags them); feed defects are
    what a transfer adds (silver quarantines or deduplicates them). Rates are per row of the table named."""

    # physical anomalies in readings
    spike: float = 0.0005
    zero: float = 0.0005
    voltage_sag: float = 0.001
    frequency_fault: float = 0.0005
    # feed defects in readings
    missing: float = 0.002
    negative: float = 0.0003
    duplicate: float = 0.001
    orphan: float = 0.0002
    malformed: float = 0.0003
    # bills, payments, meters
    bill_error: float = 0.01
    bill_duplicate: float = 0.003
    bill_malformed: float = 0.002
    payment_duplicate: float = 0.005
    payment_orphan: float = 0.003
    payment_malformed: float = 0.002
    meter_code_variant: float = 0.05
    meter_duplicate: float = 0.01


@dataclass(frozen=True)
class MetersParams:
    meters: int = 100
    start: dt.date = dt.date(2024, 1, 1)
    end: dt.date = dt.date(2024, 12, 31)  # inclusive
    interval_minutes: int = 60
    seed: int = 42
    scale: float = 1.0
    dirt: MetersDirt = field(default_factory=MetersDirt)
    block_size: int = 1000  # meters per generated file

    def __post_init__(self) -> None:
        if self.meter_count < 1:
            raise LakehouseError("--meters times --scale must give at least one meter")
        if self.end < self.start:
            raise LakehouseError(f"--end {self.end} is before --start {self.start}")
        if self.interval_minutes < 1 or 1440 % self.interval_minutes:
            raise LakehouseError("--interval must divide a day into whole readings, e.g. 15, 30 or 60 minutes")

    @property
    def meter_count(self) -> int:
        return round(self.meters * self.scale)

    def months(self) -> list[dt.date]:
        """First day of every month the period touches."""
        months, month = [], self.start.replace(day=1)
        while month <= self.end:
            months.append(month)
            month = (month + dt.timedelta(days=32)).replace(day=1)
        return months

    def blocks(self) -> list[range]:
        return [
            range(b, min(b + self.block_size, self.meter_count)) for b in range(0, self.meter_count, self.block_size)
        ]

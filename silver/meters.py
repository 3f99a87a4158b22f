"""Smart-meter silver logic beyond the contract: flagging readings that are true but unusual.

A flagged reading stays in silver (it is a real measurement); `anomaly_reason` says why it stands out, so that
analysts can include or exclude it knowingly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from silver.job import Derivation


@dataclass(frozen=True)
class AnomalyThresholds:
    spike_factor: float = 4.0  # times the meter's median for that hour of day within the month
    spike_min_kwh: float = 0.05  # below this, ratios between tiny readings mean nothing
    nominal_voltage: float = 230.0
    sag_fraction: float = 0.9  # below 90 % of nominal is a sag (IEC 61000-4-30)
    nominal_hz: float = 50.0
    frequency_tolerance_hz: float = 0.5


def flag_readings(
    rows: pl.DataFrame,
    previous: pl.LazyFrame | None,
    parents: Mapping[str, pl.DataFrame],
    limits: AnomalyThresholds = AnomalyThresholds(),
) -> pl.DataFrame:
    """Add `anomaly_reason` to one month of readings, sorted by meter and time.

    An outage gap is a reading whose previous reading of the same meter (in this month, or the last one of the
    month before) is more than one reading interval earlier.
    """
    intervals = parents["meters"].select("meter_id", "reading_interval_minutes")
    last_before = pl.DataFrame(schema={"meter_id": pl.String, "_last_before": pl.Datetime("us")})
    if previous is not None:
        last_before = previous.group_by("meter_id").agg(pl.col("reading_ts").max().alias("_last_before")).collect()
    kwh = pl.col("kwh").cast(pl.Float64)
    hour = pl.col("reading_ts").dt.hour()
    typical = kwh.median().over("meter_id", hour)
    previous_ts = pl.col("reading_ts").shift(1).over("meter_id").fill_null(pl.col("_last_before"))
    gap = pl.col("reading_ts") - previous_ts > pl.duration(minutes=pl.col("reading_interval_minutes"))
    reasons = [
        pl.when((kwh > limits.spike_factor * typical) & (kwh > limits.spike_min_kwh)).then(pl.lit("spike")),
        pl.when(kwh == 0).then(pl.lit("zero")),
        pl.when(pl.col("voltage") < limits.sag_fraction * limits.nominal_voltage).then(pl.lit("voltage_sag")),
        pl.when((pl.col("frequency_hz") - limits.nominal_hz).abs() > limits.frequency_tolerance_hz).then(
            pl.lit("frequency_fault")
        ),
        pl.when(gap).then(pl.lit("outage_gap")),
    ]
    return (
        rows.join(intervals, on="meter_id", how="left", maintain_order="left")
        .join(last_before, on="meter_id", how="left", maintain_order="left")
        .with_columns(
            pl.concat_str(reasons, separator=";", ignore_nulls=True).replace("", None).alias("anomaly_reason")
        )
        .drop("reading_interval_minutes", "_last_before")
    )


DERIVATIONS = {"readings": Derivation(flag_readings, uses_previous_partition=True)}

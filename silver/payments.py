"""Payments silver logic beyond the contract: the seed's enrichment of each valid transaction."""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from contracts.payments.silver import REVENUE
from silver.result import row_wise

# the seed's buckets: under 1 s fast, under 3 s medium, else slow
FAST_BELOW, MEDIUM_BELOW = 1.0, 3.0


@row_wise
def enrich(rows: pl.DataFrame, parents: Mapping[str, pl.DataFrame]) -> pl.DataFrame:
    """Add fee_percent (from the channel), processing_delay_bucket and revenue = amount x fee_percent / 100.

    Revenue is exact: both factors are widened to the revenue's scale first, as polars keeps the larger scale
    of the operands and would otherwise round 123.45 x 2.50 to two decimals."""
    fees = parents["channels"].select(pl.col("channel_name").alias("channel"), "fee_percent")
    exact = REVENUE.polars
    return rows.join(fees, on="channel", how="left", maintain_order="left").with_columns(
        pl.when(pl.col("processing_time") < FAST_BELOW)
        .then(pl.lit("fast"))
        .when(pl.col("processing_time") < MEDIUM_BELOW)
        .then(pl.lit("medium"))
        .otherwise(pl.lit("slow"))
        .alias("processing_delay_bucket"),
        (pl.col("amount").cast(exact) * pl.col("fee_percent").cast(exact) * pl.lit(0.01).cast(exact))
        .cast(exact)
        .alias("revenue"),
    )


DERIVATIONS = {"transactions": enrich}

"""Trades silver logic beyond the contract: each valid trade's amount, read as the source meant it and converted.

A sell filed with a negative amount (the source system's habit) is stored as its absolute value and flagged. The
amount is converted to the client's account currency and to USD at the source's fixed rates, exactly (decimal
arithmetic, rounded half up to cents).
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from contracts.trades.silver import CURRENCIES, MONEY, RATE, fx_rate
from silver.result import row_wise

_RATES = pl.DataFrame(
    [(a, b, fx_rate(a, b), fx_rate(a, "USD")) for a in CURRENCIES for b in CURRENCIES],
    schema={"currency": pl.String, "account_currency": pl.String, "fx_rate": RATE.polars, "_usd_rate": RATE.polars},
    orient="row",
)


def in_cents(amount: pl.Expr, rate: pl.Expr) -> pl.Expr:
    """amount x rate, rounded half up to cents (amounts are never negative here, so half up is half away from 0)."""
    return (amount * rate).round(2, mode="half_away_from_zero").cast(MONEY.polars)


@row_wise
def convert(rows: pl.DataFrame, parents: Mapping[str, pl.DataFrame]) -> pl.DataFrame:
    """Add negative_sell_amount, account_currency, fx_rate, amount_account and amount_usd; amount becomes
    absolute."""
    accounts = parents["clients"].select("client_id", "account_currency")
    return (
        rows.join(accounts, on="client_id", how="left", maintain_order="left")
        .join(_RATES, on=["currency", "account_currency"], how="left", maintain_order="left")
        .with_columns((pl.col("amount") < 0).alias("negative_sell_amount"), pl.col("amount").abs())
        .with_columns(
            in_cents(pl.col("amount"), pl.col("fx_rate")).alias("amount_account"),
            in_cents(pl.col("amount"), pl.col("_usd_rate")).alias("amount_usd"),
        )
        .drop("_usd_rate")
    )


DERIVATIONS = {"transactions": convert}

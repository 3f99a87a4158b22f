"""A month's drop of stock trades, as the source generated them, with the defects its feeds carried.

A month's drop is a pure function of the seed and the month (its rows, its ids and its late arrivals), so any
month can be written by any worker and the output never depends on how many there are.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from contracts.trades.silver import CHANNELS, CURRENCIES, MONEY, PRICE, STOCKS, SUBMITTED_STATUSES, TRANSACTION_TYPES
from generators.core import pick, rng_for
from generators.dirt import MALFORMED_DATE, choose_malformed, duplicate, has, kinds, tag, untagged
from generators.trades.params import TradesParams
from generators.trades.population import CLIENT_IDS, clients, hex_ids

TRANSACTION_IDS = (2_246_822_519, 987_654_321)  # scrambling of the trades' sequence numbers into ids
SHARES = ((1, 50), (1, 100), (10, 500))  # by account type: standard, premium, corporate
PRICE_CENTS = ((10_00, 200_00), (50_00, 500_00), (100_00, 1_500_00))
STATUS_WEIGHTS = (0.85, 0.10, 0.05)
CHANNEL_WEIGHTS = (0.70, 0.20, 0.10)
NUMERIC = ["shares", "price", "amount"]
SHEET = "_sheet"  # the week of the month a row is filed under in a workbook drop
WEEKS = ("01-07", "08-14", "15-21", "22-28", "29-31")


def month_counts(params: TradesParams) -> list[int]:
    """Trades filed each month: the total shared by the days each month has in the period (largest remainder)."""
    days = np.array([len(_days_in(params, month)) for month in params.months()], dtype=float)
    share = days / days.sum() * params.transaction_count
    counts = np.floor(share).astype(int)
    counts[np.argsort(-(share - counts), kind="stable")[: params.transaction_count - counts.sum()]] += 1
    return counts.tolist()


def month_drop(params: TradesParams, month: dt.date, first_number: int, count: int) -> pl.DataFrame:
    """The month's trades (numbered from `first_number`) in date order, with their defects tagged, and the
    sheet each is filed under."""
    rng = rng_for(params.seed, "trades", month.isoformat())
    days = _days_in(params, month)
    previous = _days_in(params, (month - dt.timedelta(days=1)).replace(day=1)) if month > params.start else []
    late = pick(rng, count, params.dirt.late if previous else 0.0)
    window = np.where(late, _seconds(previous[:1] or days[:1]), _seconds(days[:1]))
    length = np.where(late, len(previous) * 86_400, len(days) * 86_400)
    rows = _trades(params, rng, np.arange(first_number, first_number + count), window, length)
    rows = tag(untagged(rows), late, "late").sort("transaction_date", maintain_order=True)
    week = (pl.col("transaction_date").dt.day() - 1) // 7
    in_month = pl.col("transaction_date").dt.month() == month.month
    rows = rows.with_columns(pl.when(in_month).then(week).otherwise(0).replace_strict(range(5), WEEKS).alias(SHEET))
    return _feed_defects(params, rows, rng)


def _days_in(params: TradesParams, month: dt.date) -> list[dt.date]:
    following = (month + dt.timedelta(days=32)).replace(day=1)
    first, last = max(month, params.start), min(following - dt.timedelta(days=1), params.end)
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def _seconds(days: list[dt.date]) -> int:
    return int(np.datetime64(days[0], "s").astype(np.int64))


def _trades(
    params: TradesParams, rng: np.random.Generator, numbers: np.ndarray, window: np.ndarray, length: np.ndarray
) -> pl.DataFrame:
    """Trades by clients whose account was open in each trade's window (`window` start and `length`, in
    seconds): active clients trade more; shares and prices follow the account type."""
    people = clients(params)
    n = len(numbers)
    opened = people["account_open_date"].to_numpy().astype("datetime64[s]").astype(np.int64)
    activity = people["_activity"].to_numpy()
    who = np.empty(n, dtype=np.int64)
    for start in np.unique(window):  # one or two windows: the month, and the one before for late trades
        rows = np.flatnonzero(window == start)
        eligible = np.flatnonzero(opened < start + length[rows[0]])
        eligible = eligible if len(eligible) else np.array([int(np.argmin(opened))])
        who[rows] = eligible[rng.choice(len(eligible), len(rows), p=activity[eligible] / activity[eligible].sum())]
    begin = np.maximum(window, opened[who])
    when = begin + (rng.random(n) * np.maximum(window + length - begin, 1)).astype(np.int64)
    kind = people["account_type"].replace_strict(["standard", "premium", "corporate"], [0, 1, 2]).to_numpy()[who]
    shares = rng.integers(np.array(SHARES)[kind, 0], np.array(SHARES)[kind, 1] + 1)
    cents = rng.integers(np.array(PRICE_CENTS)[kind, 0], np.array(PRICE_CENTS)[kind, 1] + 1)
    ticker = rng.integers(0, len(STOCKS), n)
    sell = rng.random(n) < 0.5
    return pl.DataFrame(
        {
            "transaction_id": hex_ids(numbers, TRANSACTION_IDS),
            "client_id": people["client_id"].gather(who),
            "transaction_type": _pick(TRANSACTION_TYPES, sell.astype(np.int64)),
            "transaction_date": when.astype("datetime64[s]").astype("datetime64[us]"),
            "stock_ticker": _pick(tuple(STOCKS), ticker),
            "stock_name": _pick(tuple(STOCKS.values()), ticker),
            "shares": shares,
            "price": _money(cents, PRICE.polars),
            "amount": _money(shares * cents, MONEY.polars),
            "currency": _pick(CURRENCIES, rng.integers(0, len(CURRENCIES), n)),
            "transaction_status": _pick(SUBMITTED_STATUSES, rng.choice(3, n, p=STATUS_WEIGHTS)),
            "transaction_channel": _pick(CHANNELS, rng.choice(3, n, p=CHANNEL_WEIGHTS)),
            "_opened": people["account_open_date"].gather(who),
        }
    )


def _pick(values: tuple[str, ...], positions: np.ndarray) -> pl.Series:
    """values[positions], built by polars (numpy string arrays are slow to hand over)."""
    return pl.Series(values, dtype=pl.String).gather(positions)


def _money(cents: np.ndarray, dtype: pl.DataType) -> pl.Series:
    return (pl.Series(cents).cast(pl.Decimal(38, 2)) / 100).cast(dtype)


def _feed_defects(params: TradesParams, rows: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """What the source's feed got wrong, for silver to catch, and its habit of filing sells negative."""
    dirt, n = params.dirt, len(rows)
    unknown = hex_ids(params.client_count + rng.integers(0, 10**6, n), CLIENT_IDS)
    early = pl.col("_opened").cast(pl.Datetime("us")) - pl.duration(days=pl.lit(pl.Series(rng.integers(1, 90, n))))
    changes = {
        "unknown_client": (pl.lit(unknown), "client_id"),
        "unknown_currency": (pl.lit("JPY"), "currency"),
        "unknown_type": (pl.lit("hold"), "transaction_type"),
        "amount_mismatch": (pl.col("amount") + pl.lit(_money(rng.integers(1, 100, n), MONEY.polars)), "amount"),
        "before_opening": (early, "transaction_date"),
    }
    for kind, (value, column) in changes.items():
        mask = pick(rng, n, getattr(dirt, kind))
        detail = pl.col(column).cast(pl.String)
        rows = (
            tag(rows, mask, kind)
            .with_columns(
                pl.when(pl.lit(pl.Series(mask)))
                .then(value)
                .otherwise(pl.col(column))
                .cast(rows.schema[column])
                .alias(column)
            )
            .with_columns(pl.when(pl.lit(pl.Series(mask))).then(detail).otherwise(pl.col("_detail")).alias("_detail"))
        )
    rows = choose_malformed(rows, rng, dirt.malformed, numeric=True)
    rows = tag(rows, pick(rng, n, dirt.malformed_date), MALFORMED_DATE)
    defects = [has(rows, k).to_numpy() for k in kinds(rows) if k != "late"]
    clean = ~np.logical_or.reduce(defects) if defects else np.ones(n, dtype=bool)
    negative = pick(rng, n, dirt.negative_sell) & clean & (rows["transaction_type"] == "sell").to_numpy()
    rows = tag(rows, negative, "negative_sell").with_columns(
        pl.when(pl.lit(pl.Series(negative))).then(-pl.col("amount")).otherwise(pl.col("amount")).alias("amount")
    )
    return duplicate(rows, rng, dirt.duplicate, pl.col("transaction_id"))

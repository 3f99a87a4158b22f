"""The source's settlement rules, with its bugs fixed: every trade settled against its client's account in order.

Per client, in (transaction_date, transaction_id) order, from the opening balance, debt and status:
- a buy while suspended is `rejected_suspended` and changes nothing;
- a buy the balance covers is `settled`: balance -= amount;
- a buy it does not cover is `failed_insufficient_funds`: the shortfall becomes debt, the balance 0, and the
  client is suspended;
- a sell (allowed while suspended) is `settled`: balance += amount, then the debt is paid from the balance as far
  as it goes; paying it off lifts the suspension (status `active`).
The source dropped every trade after a suspension and saved no outcome; here every trade keeps its outcome and
the account right after it. The loop is sequential by nature (each trade depends on the account the one before
left), so it is compiled with numba and runs over whole columns of integer cents.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import cache

import numpy as np
import polars as pl
import pyarrow as pa

from contracts.trades.silver import CLIENT_STATUSES, MONEY, SETTLEMENT_STATUSES

SETTLED, FAILED, REJECTED = (
    SETTLEMENT_STATUSES.index(s) for s in ("settled", "failed_insufficient_funds", "rejected_suspended")
)
ACTIVE, SUSPENDED = CLIENT_STATUSES.index("active"), CLIENT_STATUSES.index("suspended")
OPENING = {"client_id": pl.String, "balance": MONEY.polars, "debt": MONEY.polars, "status": pl.String}


def settle(trades: pl.DataFrame, opening: pl.DataFrame) -> pl.DataFrame:
    """Add settlement_status, balance_after, debt_after and status_after to `trades` (client_id,
    transaction_type, amount_account), which must be sorted in settlement order: by client_id, then
    transaction_date and transaction_id. `opening` has each client's account before its first trade here
    (OPENING's columns); a client missing from it is an error of the caller."""
    clients = trades.select(pl.col("client_id").unique(maintain_order=True))
    start = clients.join(opening, on="client_id", how="left", maintain_order="left")
    if start["balance"].null_count():
        missing = start.filter(pl.col("balance").is_null())["client_id"][0]
        raise ValueError(f"no opening account for client {missing}")
    ends = trades.select(pl.col("client_id").rle().struct.field("len")).to_series().cum_sum()
    starts = np.concatenate(([0], ends.to_numpy())).astype(np.int64)
    n = len(trades)
    outcome, status_after = np.empty(n, np.int8), np.empty(n, np.int8)
    balance_after, debt_after = np.empty(n, np.int64), np.empty(n, np.int64)
    codes = start["status"].replace_strict(CLIENT_STATUSES, range(len(CLIENT_STATUSES)), return_dtype=pl.Int8)
    inputs = [starts, _cents(start["balance"]), _cents(start["debt"]), codes.to_numpy()]
    inputs += [(trades["transaction_type"] == "sell").to_numpy(), _cents(trades["amount_account"])]
    compiled()(*map(_read_only, inputs), outcome, balance_after, debt_after, status_after)
    return trades.with_columns(
        _named("settlement_status", outcome, SETTLEMENT_STATUSES),
        _money("balance_after", balance_after),
        _money("debt_after", debt_after),
        _named("status_after", status_after, CLIENT_STATUSES),
    )


def _read_only(array: np.ndarray) -> np.ndarray:
    """The loop's inputs are read-only arrays (polars hands most over without a copy, read-only)."""
    array = np.ascontiguousarray(array)
    array.flags.writeable = False
    return array


def _cents(money: pl.Series) -> np.ndarray:
    return (money * 100).cast(pl.Int64).to_numpy()


def _money(name: str, cents: np.ndarray) -> pl.Series:
    """Cents as DECIMAL(15, 2), built straight from their 128-bit words (polars' decimal division is slow)."""
    words = np.empty((len(cents), 2), dtype=np.int64)
    words[:, 0], words[:, 1] = cents, cents >> 63  # low word, and the sign extended into the high one
    array = pa.Array.from_buffers(pa.decimal128(MONEY.polars.precision, 2), len(cents), [None, pa.py_buffer(words)])
    return pl.Series(name, array)


def _named(name: str, codes: np.ndarray, names: tuple[str, ...]) -> pl.Series:
    return pl.Series(name, codes).replace_strict(range(len(names)), names, return_dtype=pl.String)


def compiled() -> Callable:
    """The loop compiled by numba (cached on disk after the first run). numba is imported here, so that only a
    run that settles trades pays for loading it (about 0.45 s), and a run starts loading it early, in a thread
    (`SettlementJob.warm_up`), while silver reads its files."""
    with _COMPILING:
        return _compile()


_COMPILING = threading.Lock()


@cache
def _compile() -> Callable:
    import numba

    def given(kind: object) -> object:  # a read-only input array
        return numba.types.Array(kind, 1, "C", readonly=True)

    cents, codes = numba.int64[::1], numba.int8[::1]
    inputs = (given(numba.int64), given(numba.int64), given(numba.int64), given(numba.int8), given(numba.boolean))
    signature = numba.void(*inputs, given(numba.int64), codes, cents, cents, codes)
    return numba.njit(signature, cache=True, nogil=True)(_settle)  # with a signature: loaded now, not at first call


def _settle(starts, balance, debt, status, is_sell, amount, outcome, balance_after, debt_after, status_after):
    for client in range(len(starts) - 1):
        b, d, s = balance[client], debt[client], status[client]
        for i in range(starts[client], starts[client + 1]):
            a = amount[i]
            if is_sell[i]:
                b += a
                if d > 0 and b >= d:
                    b, d, s = b - d, 0, ACTIVE
                elif d > 0:
                    b, d = 0, d - b
                outcome[i] = SETTLED
            elif s == SUSPENDED:
                outcome[i] = REJECTED
            elif b >= a:
                b -= a
                outcome[i] = SETTLED
            else:
                b, d, s = 0, d + a - b, SUSPENDED
                outcome[i] = FAILED
            balance_after[i], debt_after[i], status_after[i] = b, d, s

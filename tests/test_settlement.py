"""The compiled settlement loop against the issue's rules written out plainly, on random accounts and trades."""

from __future__ import annotations

from decimal import Decimal

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.trades.silver import MONEY
from silver.settlement import OPENING, settle

CENTS = st.integers(0, 10**9)
ACCOUNT = st.tuples(CENTS, st.sampled_from(["active", "inactive", "suspended"]))
TRADE = st.tuples(st.sampled_from(["buy", "sell"]), st.integers(1, 10**8))


def by_the_rules(balance: Decimal, status: str, trades: list[tuple[str, Decimal]]) -> list[tuple]:
    """The rules as the issue states them, one trade at a time."""
    debt, suspended, out = Decimal(0), status == "suspended", []
    for kind, amount in trades:
        if kind == "buy" and suspended:
            outcome = "rejected_suspended"
        elif kind == "buy" and balance >= amount:
            balance, outcome = balance - amount, "settled"
        elif kind == "buy":
            debt, balance, suspended, status = debt + amount - balance, Decimal(0), True, "suspended"
            outcome = "failed_insufficient_funds"
        else:
            balance, outcome = balance + amount, "settled"
            if debt > 0 and balance >= debt:
                balance, debt, suspended, status = balance - debt, Decimal(0), False, "active"
            elif debt > 0:
                debt, balance = debt - balance, Decimal(0)
        out.append((outcome, balance, debt, status))
    return out


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(ACCOUNT, st.lists(TRADE, max_size=30)), min_size=1, max_size=5))
def test_the_compiled_loop_follows_the_rules(clients: list) -> None:
    ids = [f"{i:08x}" for i in range(len(clients))]
    money = lambda cents: Decimal(cents) / 100  # noqa: E731
    opening = pl.DataFrame(
        [(c, money(balance), Decimal(0), status) for c, ((balance, status), _) in zip(ids, clients)],
        schema=OPENING,
        orient="row",
    )
    trades = pl.DataFrame(
        [(c, kind, money(amount)) for c, (_, made) in zip(ids, clients) for kind, amount in made],
        schema={"client_id": pl.String, "transaction_type": pl.String, "amount_account": MONEY.polars},
        orient="row",
    )
    settled = settle(trades, opening).select("settlement_status", "balance_after", "debt_after", "status_after")
    expected = [
        row
        for (balance, status), made in clients
        for row in by_the_rules(money(balance), status, [(kind, money(amount)) for kind, amount in made])
    ]
    assert settled.rows() == expected
    assert settled.filter((pl.col("debt_after") > 0) & (pl.col("status_after") != "suspended")).is_empty()
    assert settled.filter((pl.col("debt_after") > 0) & (pl.col("balance_after") > 0)).is_empty()

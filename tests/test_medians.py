"""Centred rolling medians within groups (silver/medians.py) are polars' own, to the bit."""

from __future__ import annotations

import itertools

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

import silver.medians
from silver.medians import centred_median, sorting_network


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 3), st.none() | st.floats(0.001, 1000, allow_nan=False) | st.sampled_from([0.5, 2.0])),
        max_size=80,
    ),
    st.integers(1, 9),
    st.sampled_from([1, 2, 5, 65_536]),
)
def test_centred_medians_within_groups_are_polars_rolling_medians(rows: list, window: int, block: int) -> None:
    """Whatever the groups, values, nulls and window, and however the rows are cut into blocks."""
    frame = pl.DataFrame(rows, schema={"group": pl.Int64, "value": pl.Float64}, orient="row")
    expected = frame.select(
        pl.col("value").rolling_median(window, center=True, min_samples=1).over("group")
    ).to_series()
    original, silver.medians.BLOCK = silver.medians.BLOCK, block
    try:
        got = centred_median(frame.get_column("value"), frame.get_column("group"), window)
    finally:
        silver.medians.BLOCK = original
    assert got.to_list() == expected.to_list()


def test_the_sorting_network_sorts_every_sequence_of_zeros_and_ones() -> None:
    """A comparator network sorting every 0/1 input sorts every input (Knuth's 0-1 principle)."""
    for size in range(1, 11):
        for bits in itertools.product((0, 1), repeat=size):
            items = list(bits)
            for low, high in sorting_network(size):
                items[low], items[high] = min(items[low], items[high]), max(items[low], items[high])
            assert items == sorted(bits), size

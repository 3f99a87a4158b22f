"""Which row keeps a contested key (silver/keys.py): the neighbour comparison and the removal of losers agree with
hashing every key and with keeping the earliest row of each key in file and line order."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from silver.keys import earliest, maybe_shared, sharing_neighbours, sorted_by_key, without_losers

KEY = ["a", "b"]
LINEAGE = ["_source_file", "_source_line"]


@st.composite
def frames(draw: st.DrawFn) -> pl.DataFrame:
    """Rows with small (often equal, sometimes null) two-column keys and a unique (file, line) each."""
    n = draw(st.integers(0, 40))
    cell = st.one_of(st.none(), st.integers(0, 3))
    return pl.DataFrame(
        {
            "a": draw(st.lists(st.one_of(st.none(), st.sampled_from(["x", "y"])), min_size=n, max_size=n)),
            "b": draw(st.lists(cell, min_size=n, max_size=n)),
            "_source_file": draw(st.lists(st.sampled_from(["f1.csv", "f2.csv"]), min_size=n, max_size=n)),
            "_source_line": list(range(n, 0, -1)),
        },
        schema={"a": pl.String, "b": pl.Int64, "_source_file": pl.String, "_source_line": pl.Int64},
    ).sort(KEY)


@settings(max_examples=200, deadline=None)
@given(frames())
def test_neighbours_sharing_a_key_are_the_duplicated_keys(rows: pl.DataFrame) -> None:
    assert sharing_neighbours(rows, KEY).to_list() == rows.select(pl.struct(KEY).is_duplicated()).to_series().to_list()


@settings(max_examples=200, deadline=None)
@given(frames(), st.booleans())
def test_rows_that_may_share_a_key_are_those_sharing_one(rows: pl.DataFrame, shuffled: bool) -> None:
    """In any order, and for the key or an alternate key (`b` alone) too: a row flagged shares its key, a row sharing
    it is flagged (no two of these few keys hash alike)."""
    if shuffled:
        rows = rows.sample(fraction=1.0, shuffle=True, seed=1)
    sharing = rows.select(pl.struct(KEY).is_duplicated() | pl.col("b").is_duplicated()).to_series()
    assert maybe_shared(rows, [KEY, ["b"]]).to_list() == sharing.to_list()


@settings(max_examples=200, deadline=None)
@given(frames())
def test_without_losers_keeps_the_earliest_row_of_each_key_in_order(rows: pl.DataFrame) -> None:
    contested = rows.select(pl.struct(KEY).is_duplicated()).to_series()
    kept, winners, losers = without_losers(rows, contested, KEY, LINEAGE)
    expected_winners, expected_losers = earliest(rows.filter(contested), KEY, LINEAGE)
    assert winners.equals(expected_winners) and losers.equals(expected_losers)
    assert kept.equals(rows.join(losers, on=[*KEY, *LINEAGE], how="anti", nulls_equal=True, maintain_order="left"))
    assert kept.select(pl.struct(KEY).is_duplicated().any()).item() is False
    assert len(kept) + len(losers) == len(rows)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_sorted_by_key_is_a_stable_sort_by_the_key(data: st.DataObject) -> None:
    """Split on leading text of few values (nulls and non-ASCII among them) or sorted whole, the order is a stable
    sort's."""
    n = data.draw(st.integers(0, 60))
    few = st.one_of(st.none(), st.sampled_from(["a", "Z", "é", "ab", "2024-01-02"]))
    many = st.text(max_size=3)  # more values than are split on, in some draws
    rows = pl.DataFrame(
        {
            "day": data.draw(st.lists(few, min_size=n, max_size=n)),
            "pair": data.draw(st.lists(st.one_of(few, many), min_size=n, max_size=n)),
            "at": data.draw(st.lists(st.one_of(st.none(), st.integers(-3, 3)), min_size=n, max_size=n)),
            "line": list(range(n)),
        },
        schema={"day": pl.String, "pair": pl.String, "at": pl.Int64, "line": pl.Int64},
    )
    key = data.draw(st.sampled_from([["day", "pair", "at"], ["day", "at"], ["pair", "at"], ["at"], ["day", "pair"]]))
    assert sorted_by_key(rows, key).equals(rows.sort(key, maintain_order=True))

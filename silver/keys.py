"""Rows sharing a key: which one stays. The earliest in file and line order wins, whatever order files arrived in,
so that an incremental build keeps what a full one does."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import polars as pl

_AT = "_at"  # a contested row's position among the rows being settled
# sorted_by_key splits on a leading text column of the key whose first SAMPLE values hold at most FEW distinct, into
# at most PARTS parts
SAMPLE, FEW, PARTS = 65_536, 16, 256


def earliest(rivals: pl.DataFrame, key: list[str], lineage: list[str]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Rows sharing keys: the earliest of each key in file and line order (the winners), and the others."""
    rivals = rivals.sort([*key, *lineage])
    first = rivals.select(pl.struct(key).is_first_distinct()).to_series()
    return rivals.filter(first), rivals.filter(~first)


def without_losers(
    rows: pl.DataFrame, contested: pl.Series, key: list[str], lineage: list[str]
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """`rows` without the `contested` rows that lose their key to an earlier one, in the same order; and the winners
    and losers among the contested (see `earliest`)."""
    at = np.flatnonzero(contested.to_numpy())
    winners, losers = earliest(rows[at].with_columns(pl.Series(_AT, at)), key, lineage)
    lost = np.zeros(len(rows), dtype=bool)
    lost[losers.get_column(_AT).to_numpy()] = True
    return rows.filter(~pl.Series(lost)), winners.drop(_AT), losers.drop(_AT)


def sorted_by_key(rows: pl.DataFrame, key: list[str]) -> pl.DataFrame:
    """`rows` sorted by `key`, stably. Where the key is some text columns with few values (a batch's partition days,
    a quote's currency pair) then numbers (a timestamp), the rows are split on the text, each part sorted by the
    numbers, and the parts put in order: comparing the text in every comparison took twice the CPU (0.69 M forex
    quotes of two days: 130 -> 60 ms). Where text remains to compare (a meter's id), splitting saves nothing (staging
    on disk ranks such text instead: silver.staging.sorted_by)."""
    split = []
    for name in key[:-1]:
        column = rows.get_column(name)
        if column.dtype != pl.String or column.head(SAMPLE).n_unique() > FEW:
            break
        split.append(name)
    rest = key[len(split) :]
    numeric = all(rows.schema[name] != pl.String for name in rest)
    parts = rows.partition_by(split, maintain_order=True, as_dict=True) if split and numeric and len(rows) else {}
    if not parts or len(parts) > PARTS:
        return rows.sort(key, maintain_order=True)
    ordered = sorted(parts, key=lambda values: [(value is not None, value) for value in values])  # nulls first
    return pl.concat([parts[values].sort(rest, maintain_order=True) for values in ordered])


def sharing_neighbours(rows: pl.DataFrame, key: list[str]) -> pl.Series:
    """On rows sorted by `key`: whether each row shares its key (nulls equal) with the row before or after it, i.e.
    with any row. A comparison of neighbours, where hashing every key costs more than the sort (6.6 M readings:
    27 ms against 490 ms)."""
    after_first = pl.int_range(pl.len()) > 0
    same = pl.all_horizontal(pl.col(k).eq_missing(pl.col(k).shift(1)) for k in key) & after_first
    return rows.select(same | same.shift(-1, fill_value=False)).to_series()


def maybe_shared(rows: pl.DataFrame, keys: Iterable[Sequence[str]]) -> pl.Series:
    """Whether each row may share one of `keys` (the key, alternate keys) with another row: the key's hash repeats.
    Equal keys hash alike, so no row sharing a key is missed; two keys hashing alike only flag a row needlessly. The
    hashes are sorted to find repeats: hashing the keys into a table cost three times as much (2.4 M quotes: 0.28
    against 0.1 s of CPU)."""
    shared = np.zeros(len(rows), dtype=bool)
    for key in keys:
        hashes = rows.select(pl.struct(list(key)).hash()).to_series()
        ordered = hashes.sort().to_numpy()
        repeats = ordered[1:][ordered[1:] == ordered[:-1]]
        if len(repeats):
            shared |= hashes.is_in(pl.Series(repeats).implode()).to_numpy()
    return pl.Series(shared)


def repeated_across(
    scans: Mapping[str, pl.LazyFrame], key: list[str], lineage: list[str], partition: str
) -> pl.DataFrame | None:
    """The key and lineage of every row whose key is in more than one of the partitions `scans` reads, with its
    partition (in column `partition`); None when no key repeats. Only the keys are read to find them (10 M trade
    ids: about 2 s), then only the repeated keys' rows."""
    keys = pl.concat(scan.select(key) for scan in scans.values()).collect()
    repeated = keys.filter(pl.struct(key).is_duplicated()).unique()
    if repeated.is_empty():
        return None
    return pl.concat(
        scan.select(*key, *lineage).join(repeated.lazy(), on=key, how="semi").with_columns(pl.lit(p).alias(partition))
        for p, scan in scans.items()
    ).collect()

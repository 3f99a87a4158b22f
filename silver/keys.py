"""Rows sharing a key: which one stays. The earliest in file and line order wins, whatever order files arrived in,
so that an incremental build keeps what a full one does."""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl


def earliest(rivals: pl.DataFrame, key: list[str], lineage: list[str]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Rows sharing keys: the earliest of each key in file and line order (the winners), and the others."""
    rivals = rivals.sort([*key, *lineage])
    first = rivals.select(pl.struct(key).is_first_distinct()).to_series()
    return rivals.filter(first), rivals.filter(~first)


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

"""How a silver run cuts the merging of its partitions: small partitions in groups, large ones in buckets of keys.

Both bound memory (a group or a bucket holds about BUCKET_ROWS rows at most) and keep the per-partition overhead
from dominating many small partitions (a year of daily files of a few hundred rows).
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

BUCKET_ROWS = 1_000_000  # a partition is merged in buckets of about this many rows, to bound memory
GROUPS_PER_THREAD = 2  # partitions are merged in about this many groups per thread, to balance the threads


def groups(sizes: Mapping[str, int], threads: int) -> list[list[str]]:
    """Partitions (name -> rows) merged together, in order: small ones in groups of about a share of a thread's
    work, each large one alone."""
    return runs(sizes, min(BUCKET_ROWS, max(1, int(sum(sizes.values()) / (GROUPS_PER_THREAD * threads)))))


def runs(sizes: Mapping[str, int], cap: int) -> list[list[str]]:
    """Partitions (name -> rows) in name order, cut into runs of at most `cap` rows (a partition at least)."""
    cut: list[list[str]] = []
    rows = 0
    for partition in sorted(sizes):
        if not cut or rows + sizes[partition] > cap:
            cut.append([])
            rows = 0
        cut[-1].append(partition)
        rows += sizes[partition]
    return cut


def bucket_ranges(rows: pl.LazyFrame, leading: str) -> list[tuple[object, object]]:
    """Ranges of the `leading` column, each holding about BUCKET_ROWS rows."""
    sizes = rows.group_by(leading).len().sort(leading).collect()
    bucket = (sizes["len"].cum_sum() - 1) // BUCKET_ROWS
    edges = (
        sizes.with_columns(bucket.alias("_b"))
        .group_by("_b")
        .agg(pl.col(leading).min().alias("low"), pl.col(leading).max().alias("high"))
    )
    return list(edges.sort("_b").select("low", "high").iter_rows())

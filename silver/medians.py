"""Centred rolling medians within groups, computed by a sorting network over the window's columns.

polars' `rolling_median(window, center=True, min_samples=1).over(groups)` runs its rolling kernel once per group:
the anomaly flags' groups (a meter at one time of day) hold a month's readings, so a month of a block of 1,000
meters is about 23,000 groups of 29 readings, and the kernels cost 0.25 s of CPU per 1.3 M readings. Here the rows
are put in group order once, each row sees its window as `window` shifted columns (missing where the window leaves
the group, or the value is null), and a sorting network sorts those columns element-wise: 0.17 s of CPU, the same
medians to the bit (tests/test_medians.py). Run over whole columns, the network's 32 passes over seven columns of
1.3 M floats moved about 1 GB through memory; run a block of rows at a time, in the cache, they take 0.08 s where
the whole columns took 0.10 s (measured again on another day).
"""

from __future__ import annotations

import numpy as np
import polars as pl

MISSING = np.inf  # a value missing from a window: it sorts after every value
BLOCK = 65_536  # rows whose medians are computed together: a block's window columns (4 MB) stay in the cache


def centred_median(values: pl.Series, group: pl.Series, window: int) -> pl.Series:
    """For each row, the median of the non-null `values` of its `group` among the `window` rows centred on it, in
    row order within the group (null when there are none): what polars' rolling_median(window, center=True,
    min_samples=1).over(group) gives. `group` is an integer key; rows of a group keep their order."""
    groups = group.to_numpy()
    order = np.argsort(groups, kind="stable")
    key = groups[order]
    ordered = values.cast(pl.Float64).to_numpy()[order]  # nulls become NaN
    ordered = np.where(np.isnan(ordered), MISSING, ordered)
    sorted_medians = np.empty(len(order))
    for start in range(0, len(order), BLOCK):
        stop = min(start + BLOCK, len(order))
        sorted_medians[start:stop] = _block_medians(ordered, key, start, stop, window)
    medians = np.empty(len(order))
    medians[order] = sorted_medians
    return pl.Series(values.name, medians).fill_nan(None)


def _block_medians(ordered: np.ndarray, key: np.ndarray, start: int, stop: int, window: int) -> np.ndarray:
    """The medians of rows `start` to `stop` of the group-ordered values (NaN where a window has none)."""
    columns = [_shifted(ordered, key, offset, start, stop) for offset in range(-(window // 2), window - window // 2)]
    spare = np.empty(stop - start)  # compare-exchanges in place, on a block's arrays, which stay in the cache
    for low, high in sorting_network(window):
        np.minimum(columns[low], columns[high], out=spare)
        np.maximum(columns[low], columns[high], out=columns[high])
        columns[low], spare = spare, columns[low]
    count = sum(np.isfinite(column) for column in columns)
    ranked = np.stack(columns[: window // 2 + 1])  # the middle of `count` values lies in the first half
    lower = np.take_along_axis(ranked, np.maximum(count - 1, 0)[None, :] // 2, 0)[0]
    upper = np.take_along_axis(ranked, (count // 2)[None, :], 0)[0]
    with np.errstate(invalid="ignore"):  # rows with no value: inf - inf, set to null below
        middle = lower + (upper - lower) * 0.5  # polars' linear interpolation, to the bit
    return np.where(count > 0, middle, np.nan)


def _shifted(ordered: np.ndarray, key: np.ndarray, offset: int, start: int, stop: int) -> np.ndarray:
    """For rows `start` to `stop`, each one's value `offset` rows away within its group (MISSING outside it)."""
    shifted = np.full(stop - start, MISSING)
    source_start, source_stop = max(start + offset, 0), min(stop + offset, len(ordered))
    if source_stop > source_start:
        rows = slice(source_start - offset, source_stop - offset)
        inside = key[source_start:source_stop] == key[rows]
        shifted[rows.start - start : rows.stop - start] = np.where(inside, ordered[source_start:source_stop], MISSING)
    return shifted


def sorting_network(size: int) -> list[tuple[int, int]]:
    """Comparators (low, high) that sort `size` items: Batcher's odd-even merge sort of the next power of two,
    without the comparators that touch only the padding (which, sorting last, never moves)."""
    padded = 1 << max(size - 1, 0).bit_length()
    pairs = []
    run = 1
    while run < padded:
        step = run
        while step >= 1:
            for start in range(step % run, padded - step, 2 * step):
                for i in range(min(step, padded - start - step)):
                    if (start + i) // (2 * run) == (start + i + step) // (2 * run):
                        pairs.append((start + i, start + i + step))
            step //= 2
        run *= 2
    return [(low, high) for low, high in pairs if high < size]

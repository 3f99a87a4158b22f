"""Centred rolling medians within groups, computed by a sorting network over the window's columns.

polars' `rolling_median(window, center=True, min_samples=1).over(groups)` runs its rolling kernel once per group:
the anomaly flags' groups (a meter at one time of day) hold a month's readings, so a month of a block of 1,000
meters is about 23,000 groups of 29 readings, and the kernels cost 0.25 s of CPU per 1.3 M readings. Here the rows
are put in group order once, each row sees its window as `window` shifted columns (missing where the window leaves
the group, or the value is null), and a sorting network sorts those columns element-wise: 0.17 s, the same medians
to the bit (tests/test_medians.py).
"""

from __future__ import annotations

import numpy as np
import polars as pl


def centred_median(values: pl.Series, group: pl.Series, window: int) -> pl.Series:
    """For each row, the median of the non-null `values` of its `group` among the `window` rows centred on it, in
    row order within the group (null when there are none): what polars' rolling_median(window, center=True,
    min_samples=1).over(group) gives. `group` is an integer key; rows of a group keep their order."""
    groups = group.to_numpy()
    order = np.argsort(groups, kind="stable")
    key = groups[order]
    ordered = values.cast(pl.Float64).to_numpy()[order]  # nulls become NaN
    missing = np.inf  # sorts after every value
    ordered = np.where(np.isnan(ordered), missing, ordered)
    columns = [_shifted(ordered, key, offset, missing) for offset in range(-(window // 2), window - window // 2)]
    spare = np.empty(len(order))  # compare-exchanges in place: fresh arrays are page-faulted in, each time
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
    medians = np.empty(len(order))
    medians[order] = np.where(count > 0, middle, np.nan)
    return pl.Series(values.name, medians).fill_nan(None)


def _shifted(ordered: np.ndarray, key: np.ndarray, offset: int, missing: float) -> np.ndarray:
    """Each row's value `offset` rows away within its group (`missing` outside it)."""
    if offset == 0:
        return ordered.copy()
    shifted = np.full(len(ordered), missing)
    if offset < 0 and -offset < len(ordered):
        inside = key[-offset:] == key[:offset]
        shifted[-offset:] = np.where(inside, ordered[:offset], missing)
    elif 0 < offset < len(ordered):
        inside = key[:-offset] == key[offset:]
        shifted[:-offset] = np.where(inside, ordered[offset:], missing)
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

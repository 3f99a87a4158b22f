"""What every silver job gives back, and how a table's derived columns are declared: shared by the job that reads
bronze and the jobs that compute tables from other silver tables."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from contracts.schema import Table

if TYPE_CHECKING:
    import polars as pl

# Columns a table computes over one whole partition (or row by row, see `row_wise`), given its parents' rows. (The
# types are named, not imported: a run with nothing to do loads this module and not polars.)
Derivation = Callable[["pl.DataFrame", Mapping[str, "pl.DataFrame"]], "pl.DataFrame"]


def row_wise(derivation: Derivation) -> Derivation:
    """Mark a derivation whose every row depends on that row (and its parents) alone: it runs once, when the row is
    staged, and its columns are stored and carried through later merges. So it may also change a source column
    (a sell filed negative becomes its absolute value) without being applied twice."""
    derivation.row_wise = True  # type: ignore[attr-defined]
    return derivation


@dataclass
class SilverResult:
    table: Table
    status: str  # "built" or "up_to_date"
    version: str
    inputs: list[dict[str, Any]] = field(default_factory=list)
    totals: dict[str, int] = field(default_factory=dict)
    changes: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

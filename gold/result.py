"""What building a gold model gives back (gold/build.py), apart from the builder: a run that finds nothing to do
reports every model current without loading the builder or DuckDB (pipelines/unchanged.py)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class GoldResult:
    model: str
    status: str  # "built", "up_to_date" or "failed"
    version: str | None
    rows: int | None = None
    seconds: float = 0.0
    message: str | None = None
    partitions_rebuilt: int | None = None  # partitions this build wrote (the others were linked)
    rows_written: int | None = None  # rows in them
    engine: str | None = None  # which engine built it

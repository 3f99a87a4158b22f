"""How many payments a day: a weekly rhythm, a yearly season, a growth trend and festival peaks around --per-day.

A day's volume is a pure function of its date and these parameters (never of the period generated), so a day
generated alone equals the same day generated in a range, and --end can grow without changing a written day.
The rhythms multiply, and the product is scaled so that the mean daily volume over `base_year` is --per-day.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path

import numpy as np
import polars as pl

from core.errors import LakehouseError

REFERENCE = Path(__file__).parent / "reference"
SEASON_PEAK = np.datetime64("2000-11-15")  # the season's cosine peaks each 15 November (festive and wedding season)
YEAR = 365.2425  # days


@dataclass(frozen=True)
class Rhythm:
    """Each rhythm at its neutral value (weekend 1, season 0, growth 0, festivals 0) leaves it out: with all four
    neutral, every day has --per-day transactions."""

    weekend: float = 0.75  # a Saturday's or a Sunday's volume relative to a weekday's
    season: float = 0.15  # ± this fraction over the year: highest mid-November, lowest mid-May
    growth: float = 0.20  # a year's growth of volume (0.2: 20 % more a year later), compounded day by day
    festivals: float = 1.0  # factor on every festival's lift (reference/festivals.csv)
    base_year: int = 2024  # the year whose mean daily volume is --per-day

    def __post_init__(self) -> None:
        if not self.weekend > 0:
            raise LakehouseError(f"--weekend {self.weekend:g}: a weekend day's volume must be more than 0")
        if not 0 <= self.season < 1:
            raise LakehouseError(f"--season {self.season:g}: the season's amplitude must be at least 0 and below 1")
        if not self.growth > -1:
            raise LakehouseError(f"--growth {self.growth:g}: the yearly growth must be more than -1")
        if not self.festivals >= 0:
            raise LakehouseError(f"--festivals {self.festivals:g}: the festivals' factor must be at least 0")

    def require_years(self, first: int, last: int) -> None:
        """Festival dates follow the lunisolar calendar, so a year without them in the table cannot be generated
        with festivals (rather than silently without)."""
        if not self.festivals:
            return
        dates = festival_dates()
        years = dates.group_by("festival").agg(pl.col("date").dt.year().alias("years"))
        known = festivals().join(years, on="festival", how="left")["years"].fill_null([])
        wanted = {*range(first, last + 1), self.base_year}
        missing = sorted({year for have in known for year in wanted - {*have}})
        if missing:
            have = f"{dates['date'].min().year}-{dates['date'].max().year}"
            raise LakehouseError(
                f"no festival dates for {', '.join(map(str, missing))} in {REFERENCE / 'festival_dates.csv'} (it "
                f"covers {have}): add that year's dates, or generate with --festivals 0"
            )

    def volumes(self, mean: float, days: np.ndarray) -> np.ndarray:
        """Transactions on each of `days` (datetime64[D]): at least one a day, `mean` a day over the base year."""
        expected = mean * self._shape(days) / self._base_level
        return np.maximum(1, np.rint(expected)).astype(np.int64)

    def _shape(self, days: np.ndarray) -> np.ndarray:
        days = np.asarray(days, dtype="datetime64[D]")
        weekday = (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday; Monday is 0
        weekly = np.where(weekday >= 5, self.weekend, 1.0)
        season = 1 + self.season * np.cos(2 * np.pi * (days - SEASON_PEAK).astype(np.int64) / YEAR)
        since = (days - np.datetime64(f"{self.base_year}-01-01")).astype(np.int64)
        trend = (1 + self.growth) ** (since / YEAR)
        return weekly * season * trend * (1 + self.festivals * festival_lift(days))

    @cached_property
    def _base_level(self) -> float:
        """The mean of the shape over the base year, which volumes are divided by."""
        year = np.arange(f"{self.base_year}-01-01", f"{self.base_year + 1}-01-01", dtype="datetime64[D]")
        return float(self._shape(year).mean())


def festival_lift(days: np.ndarray) -> np.ndarray:
    """Each day's extra volume from festivals, as a fraction of an ordinary day's: a festival's `lift` on its
    date, after rising evenly over its `build_up_days` before it (shopping for it); overlapping ones add up."""
    dates, lift, build_up = _festival_days()
    ahead = (dates[None, :] - np.asarray(days, dtype="datetime64[D]")[:, None]).astype(np.int64)
    rising = lift[None, :] * (1 - ahead / (build_up[None, :] + 1))
    return np.where((ahead >= 0) & (ahead <= build_up[None, :]), rising, 0.0).sum(axis=1)


@cache
def _festival_days() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every festival date with its festival's lift and build-up days, as arrays."""
    table = festival_dates().join(festivals(), on="festival")
    return table["date"].to_numpy(), table["lift"].to_numpy(), table["build_up_days"].to_numpy()


@cache
def festivals() -> pl.DataFrame:
    """festival, lift (the festival day's extra volume: 1.0 doubles it), build_up_days."""
    return pl.read_csv(REFERENCE / "festivals.csv", schema={"festival": pl.String, "lift": pl.Float64,
                                                            "build_up_days": pl.Int64})  # fmt: skip


@cache
def festival_dates() -> pl.DataFrame:
    """date, festival: each festival's date in each year (India, as timeanddate.com lists them)."""
    return pl.read_csv(REFERENCE / "festival_dates.csv", schema={"date": pl.Date, "festival": pl.String})

"""The payments generator (Batch Analytics Platform): customers, cities, channels and daily transactions.

Transactions go to Hive-style daily folders, `transactions/date=YYYY-MM-DD/transactions.csv`, so DuckDB, Spark and
BI tools read the day as a column. A day's transactions are a pure function of the seed, the parameters and the
day, so any day can be generated (or generated again) alone, and the output does not depend on the number of
workers. How many there are follows the day's rhythm (`rhythm.py`): week, season, growth and festivals.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
import polars as pl
from faker import Faker

from contracts.payments import silver
from core.errors import LakehouseError
from core.lake import Lake
from generators.core import Random, Streams, TableFile, count_file, pick, remember_parameters, rng_for
from generators.dirt import DirtRates, choose_malformed, clean_file, duplicate, render_files, tag, untagged
from generators.payments.rhythm import Rhythm
from generators.tasks import run_tasks

# channel -> (id, fee percent, share of transactions, median amount, median seconds to process, failure rate)
CHANNELS = {
    "Credit Card": (1, "2.50", 0.30, 2_400.0, 1.6, 0.09),
    "Debit Card": (2, "1.00", 0.25, 1_300.0, 1.2, 0.10),
    "UPI": (3, "0.50", 0.35, 450.0, 0.6, 0.08),
    "Net Banking": (4, "1.50", 0.10, 3_800.0, 3.4, 0.15),
}
CITIES = (
    ("Mumbai", "Maharashtra", "West"), ("Pune", "Maharashtra", "West"), ("Ahmedabad", "Gujarat", "West"),
    ("Delhi", "Delhi", "North"), ("Jaipur", "Rajasthan", "North"), ("Lucknow", "Uttar Pradesh", "North"),
    ("Chandigarh", "Chandigarh", "North"), ("Bengaluru", "Karnataka", "South"), ("Chennai", "Tamil Nadu", "South"),
    ("Hyderabad", "Telangana", "South"), ("Kochi", "Kerala", "South"), ("Kolkata", "West Bengal", "East"),
    ("Patna", "Bihar", "East"), ("Bhubaneswar", "Odisha", "East"), ("Bhopal", "Madhya Pradesh", "Central"),
    ("Nagpur", "Maharashtra", "Central"),
)  # fmt: skip
SEGMENTS = {"Retail": 0.70, "SME": 0.22, "Corporate": 0.08}
SEGMENT_AMOUNT = {"Retail": 1.0, "SME": 2.5, "Corporate": 6.0}
DAY = "_day"  # the position of a row's day among the days made together
HOURLY = np.array([1, 1, 1, 1, 1, 2, 4, 6, 8, 9, 9, 9, 9, 9, 8, 8, 8, 9, 10, 10, 9, 7, 4, 2], dtype=float)


@dataclass(frozen=True)
class PaymentsDirt(DirtRates):
    """Rates of feed defects per transaction row."""

    duplicate: float = 0.01
    non_positive: float = 0.005
    unknown_status: float = 0.004
    unknown_channel: float = 0.004
    missing_id: float = 0.003
    malformed: float = 0.003


@dataclass(frozen=True)
class PaymentsParams:
    start: dt.date = dt.date(2024, 1, 1)
    end: dt.date = dt.date(2024, 12, 31)  # inclusive
    per_day: int = 500  # on average over the rhythm's base year
    customers: int = 1_000
    seed: int = 42
    scale: float = 1.0  # factor on per_day
    dirt: PaymentsDirt = field(default_factory=PaymentsDirt)
    rhythm: Rhythm = field(default_factory=Rhythm)

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise LakehouseError(f"--end {self.end} is before --start {self.start}")
        if self.transactions_per_day < 1 or self.customers < 1:
            raise LakehouseError("--per-day times --scale, and --customers, must be at least 1")
        self.rhythm.require_years(self.start.year, self.end.year)

    @property
    def transactions_per_day(self) -> int:
        """The mean number of transactions a day over the rhythm's base year."""
        return round(self.per_day * self.scale)

    def volumes(self, days: np.ndarray) -> np.ndarray:
        """How many transactions each of `days` (datetime64[D]) has."""
        return self.rhythm.volumes(self.per_day * self.scale, days)

    def days(self) -> list[dt.date]:
        return [self.start + dt.timedelta(days=i) for i in range((self.end - self.start).days + 1)]


@dataclass(frozen=True)
class _Task:
    root: str
    params: PaymentsParams
    days: tuple[dt.date, ...]


def generate(lake: Lake, params: PaymentsParams, workers: int) -> dict[str, dict[str, int]]:
    """Write the reference files and every day's transactions that are not there yet (a day's file, once
    written, is never rewritten: `--start/--end` and `--date` only add days)."""
    remember_parameters(lake, "payments", asdict(params), extendable={"start", "end"})
    totals: dict[str, dict[str, int]] = {}
    for file in _reference_files(params):
        count_file(totals, file.table.name, *file.write(lake))
    todo = [d for d in params.days() if not _day_path(lake, d).exists()]
    for _ in range(len(params.days()) - len(todo)):
        count_file(totals, "transactions", False, 0)
    months: dict[tuple[int, int], list[dt.date]] = {}
    for day in todo:
        months.setdefault((day.year, day.month), []).append(day)
    tasks = [_Task(str(lake.root), params, tuple(days)) for days in months.values()]
    for counts in run_tasks(_write_days, tasks, workers, desc="generate payments"):
        for written, rows in counts:
            count_file(totals, "transactions", written, rows)
    return totals


def _day_path(lake: Lake, day: dt.date) -> Path:
    return lake.bronze_dir("payments", "transactions") / f"date={day.isoformat()}" / "transactions.csv"


@cache
def customers(params: PaymentsParams) -> pl.DataFrame:
    rng = rng_for(params.seed, "payments", "customers")
    fake = Faker("en_IN")
    fake.seed_instance(params.seed)
    names = np.array([fake.name() for _ in range(min(params.customers, 400))])
    segments = list(SEGMENTS)
    return pl.DataFrame(
        {
            "customer_id": [f"C{i:05d}" for i in range(1, params.customers + 1)],
            "customer_name": names[rng.integers(0, len(names), params.customers)],
            "segment": np.array(segments)[rng.choice(len(segments), params.customers, p=list(SEGMENTS.values()))],
            "home_city": np.array([c[0] for c in CITIES])[rng.integers(0, len(CITIES), params.customers)],
        }
    )


def _reference_files(params: PaymentsParams) -> list[TableFile]:
    frames = {
        silver.channels: pl.DataFrame(
            {
                "channel_id": [c[0] for c in CHANNELS.values()],
                "channel_name": list(CHANNELS),
                "fee_percent": [c[1] for c in CHANNELS.values()],
            }
        ),
        silver.cities: pl.DataFrame(
            {
                "city_id": list(range(1, len(CITIES) + 1)),
                "city": [c[0] for c in CITIES],
                "state": [c[1] for c in CITIES],
                "region": [c[2] for c in CITIES],
            }
        ),
        silver.customers: customers(params),
    }
    return [clean_file(table, frame, params.seed) for table, frame in frames.items()]


def _write_days(task: _Task) -> list[tuple[bool, int]]:
    """A month's days, made together: one frame for all their rows, each day drawing from its own streams."""
    params, days, lake = task.params, task.days, Lake(Path(task.root))
    rows = transactions(params, days)
    dirt = Streams([rng_for(params.seed, "payments-dirt", day.isoformat()) for day in days], _sizes(rows, days))
    rows = _feed_defects(params, rows, dirt)
    renders = [rng_for(params.seed, "render", day) for day in days]
    names = [f"date={day.isoformat()}/transactions.csv" for day in days]
    files = render_files(rows, silver.transactions, renders, ["amount"], _sizes(rows, days), names)
    return [file.write(lake) for file in files]


def _sizes(rows: pl.DataFrame, days: tuple[dt.date, ...]) -> list[int]:
    return np.bincount(rows.get_column(DAY).to_numpy(), minlength=len(days)).tolist()


def day_transactions(params: PaymentsParams, day: dt.date) -> pl.DataFrame:
    """One day's transactions, in time order, as the seed describes them: 4 channels, about 90 % success."""
    return transactions(params, (day,)).drop(DAY)


def transactions(params: PaymentsParams, days: tuple[dt.date, ...]) -> pl.DataFrame:
    """The transactions of `days`, day after day, with `DAY`: the position of a row's day in `days`. Each day
    draws from its own stream, so a day's rows do not depend on the days made with it."""
    draws = [_draws(params, day) for day in days]
    drawn = {name: np.concatenate([d[name] for d in draws]) for name in draws[0]}
    sizes = [len(d["who"]) for d in draws]
    spec = np.array([CHANNELS[c][3:] for c in CHANNELS])[drawn["channel"]]  # median amount, median seconds, failures
    people = customers(params)
    day = np.repeat(np.arange(len(days)), sizes)
    midnight = np.array(days, dtype="datetime64[us]")[day]
    home_city = people.get_column("home_city").gather(drawn["who"])
    city = pl.Series([c[0] for c in CITIES]).gather(drawn["city"]).zip_with(pl.Series(drawn["away"]), home_city)
    return untagged(
        pl.DataFrame(
            {
                "transaction_id": np.concatenate([np.arange(1, n + 1) for n in sizes]),
                "transaction_ts": midnight + drawn["second"].astype("timedelta64[s]"),
                "customer_id": people.get_column("customer_id").gather(drawn["who"]),
                "city": city,
                "channel": pl.Series(list(CHANNELS)).gather(drawn["channel"]),
                "amount": np.round(spec[:, 0] * _segment_factors(params)[drawn["who"]] * drawn["amount"], 2),
                "status": pl.Series(["success", "failed"]).gather((drawn["status"] < spec[:, 2]).astype(np.int64)),
                "processing_time": np.round(spec[:, 1] * drawn["processing_time"], 3),
                DAY: day,
            }
        ).with_columns(
            pl.concat_str(
                pl.lit(pl.Series([f"T{d:%Y%m%d}" for d in days]).gather(day)),
                pl.col("transaction_id").cast(pl.String).str.zfill(5),
            ).alias("transaction_id"),
            pl.col("amount").cast(pl.Decimal(12, 2)),
        )
    )


def _draws(params: PaymentsParams, day: dt.date) -> dict[str, np.ndarray]:
    """A day's random draws, in the order its stream gives them."""
    rng = rng_for(params.seed, "payments", day.isoformat())
    n = int(params.volumes(np.array([day], dtype="datetime64[D]"))[0])
    channel = rng.choice(len(CHANNELS), n, p=[c[2] for c in CHANNELS.values()])
    who = rng.integers(0, params.customers, n)
    away = rng.random(n) < 0.15
    city = rng.integers(0, len(CITIES), n)
    hour = rng.choice(24, n, p=HOURLY / HOURLY.sum())
    second = np.sort(hour * 3600 + rng.integers(0, 3600, n))
    amount = rng.lognormal(0, 0.7, n)
    status = rng.random(n)
    processing_time = rng.lognormal(0, 0.45, n)
    return {"channel": channel, "who": who, "away": away, "city": city, "second": second, "amount": amount,
            "status": status, "processing_time": processing_time}  # fmt: skip


@cache
def _segment_factors(params: PaymentsParams) -> np.ndarray:
    """Each customer's factor on amounts, by segment."""
    return customers(params).get_column("segment").replace_strict(SEGMENT_AMOUNT).to_numpy()


def _feed_defects(params: PaymentsParams, rows: pl.DataFrame, rng: Random) -> pl.DataFrame:
    """The seed's validation has something to catch: bad amounts, statuses, channels, missing ids, repeats."""
    dirt, n = params.dirt, len(rows)
    changes = {
        "non_positive": (pl.lit(0).cast(pl.Decimal(12, 2)) - pl.col("amount"), "amount"),
        "unknown_status": (pl.lit("pending"), "status"),
        "unknown_channel": (pl.lit("Wallet"), "channel"),
        "missing_id": (pl.lit(None, pl.String), "transaction_id"),
    }
    for kind, (value, column) in changes.items():
        mask = pick(rng, n, getattr(dirt, kind))
        rows = tag(rows, mask, kind).with_columns(
            pl.when(pl.lit(pl.Series(mask))).then(value).otherwise(pl.col(column)).alias(column)
        )
    rows = choose_malformed(rows, rng, dirt.malformed, numeric=True)
    return duplicate(rows, rng, dirt.duplicate, pl.col("transaction_id"))

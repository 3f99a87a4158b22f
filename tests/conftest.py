"""Shared fixtures: real lakes in temporary directories, real files, real DuckDB."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from hypothesis import strategies as st

import contracts
from core.lake import Lake
from core.store import read_table
from generators import telecom
from generators.meters import MetersDirt, MetersParams, generate
from generators.payments import PaymentsDirt, PaymentsParams
from generators.payments import generate as generate_payments
from generators.ratings import RatingsDirt, RatingsParams
from generators.ratings import generate as generate_ratings
from generators.trades import TradesDirt, TradesParams
from generators.trades import generate as generate_trades
from pipelines.run import RunOptions, run
from tests.postgres import postgres_server  # noqa: F401 (a fixture: a throwaway PostgreSQL for the tests)

SHARED = Path(__file__).resolve().parents[2] / "shared"
# Small but complete: two blocks of meters, three months, every kind of dirt, bills' at high rates.
SMALL = MetersParams(
    meters=12,
    start=dt.date(2024, 1, 1),
    end=dt.date(2024, 3, 31),
    seed=7,
    block_size=8,
    dirt=MetersDirt.parse(
        "spike=0.003,bill_error=0.1,bill_duplicate=0.05,bill_malformed=0.05,payment_duplicate=0.05,"
        "payment_orphan=0.05,payment_malformed=0.05,meter_code_variant=0.3,meter_duplicate=0.1"
    ),
)


# A day and a half of a few subscribers, bursty enough for sessions, quotes every 5 s (h1 bars reach ATR-21).
SMALL_TELECOM = telecom.TelecomParams(
    subscribers=60,
    start=dt.datetime(2024, 1, 1),
    end=dt.datetime(2024, 1, 2, 12),
    seed=3,
    bursts_per_day=12,
    tick_seconds=5,
    dirt=telecom.TelecomDirt.parse(
        "malformed=0.01,duplicate=0.01,unknown_msisdn=0.01,negative=0.01,late=0.03,forex_malformed=0.002,"
        "forex_duplicate=0.002"
    ),
)


@pytest.fixture(scope="session")
def telecom_generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated telecom bronze lake (never run); copy it with `telecom_copy` before changing anything."""
    root = tmp_path_factory.mktemp("telecom")
    telecom.generate(Lake(root), SMALL_TELECOM, workers=1)
    return root


@pytest.fixture
def telecom_copy(telecom_generated: Path, tmp_path: Path) -> Lake:
    root = tmp_path / "telecom"
    shutil.copytree(telecom_generated, root)
    return Lake(root)


def run_telecom(lake: Lake, **options) -> object:
    return run(lake, RunOptions(domains=("telecom",), threads=2, **options), "test")


SMALL_PAYMENTS = PaymentsParams(
    start=dt.date(2024, 1, 1),
    end=dt.date(2024, 1, 10),
    per_day=80,
    customers=50,
    seed=5,
    dirt=PaymentsDirt.parse(
        "duplicate=0.03,non_positive=0.03,unknown_status=0.03,unknown_channel=0.03,missing_id=0.03,malformed=0.03"
    ),  # fmt: skip
)


def run_payments(lake: Lake) -> object:
    return run(lake, RunOptions(domains=("payments",), threads=2), "test")


@pytest.fixture(scope="session")
def payments_lake(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    """A small payments lake, generated and built; copy it (symlinks=True) before changing anything."""
    lake = Lake(tmp_path_factory.mktemp("payments"))
    generate_payments(lake, SMALL_PAYMENTS, workers=1)
    run_payments(lake)
    return lake


# Seven months of a few clients, a workbook every third month, every kind of defect at high rates.
SMALL_TRADES = TradesParams(
    clients=40,
    transactions=3_000,
    start=dt.date(2023, 11, 1),
    end=dt.date(2024, 5, 31),
    seed=11,
    workbook_every=3,
    dirt=TradesDirt.parse(
        "unknown_client=0.01,duplicate=0.01,unknown_currency=0.01,unknown_type=0.01,amount_mismatch=0.01,"
        "before_opening=0.01,malformed=0.01,malformed_date=0.01,negative_sell=0.05,late=0.03"
    ),
)


def run_trades(lake: Lake, **options) -> object:
    return run(lake, RunOptions(domains=("trades",), threads=2, **options), "test")


@pytest.fixture(scope="session")
def trades_generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated trades bronze lake (never run); copy it before changing anything."""
    root = tmp_path_factory.mktemp("trades-bronze")
    generate_trades(Lake(root), SMALL_TRADES, workers=1)
    return root


def built(bronze: Path, folder: Path, run_domain: Callable[[Lake], object]) -> Lake:
    """A copy of a generated bronze lake in `folder`, built by `run_domain`."""
    lake = Lake(folder / "lake")
    shutil.copytree(bronze, lake.root)
    run_domain(lake)
    return lake


@pytest.fixture(scope="session")
def trades_lake(trades_generated: Path, tmp_path_factory: pytest.TempPathFactory) -> Lake:
    """The small trades lake, built; copy it (symlinks=True) before changing anything."""
    return built(trades_generated, tmp_path_factory.mktemp("trades"), run_trades)


# Six agencies for five days, every kind of defect at high rates.
SMALL_RATINGS = RatingsParams(
    agencies=6,
    days=5,
    customers=60,
    start=dt.date(2025, 5, 9),
    seed=13,
    dirt=RatingsDirt.parse("letters=0.04,overflow=0.03,blank=0.03,short=0.03,long=0.03,long_status=0.03,padded=0.05"),
)


def run_ratings(lake: Lake, **options) -> object:
    return run(lake, RunOptions(domains=("ratings",), threads=2, **options), "test")


@pytest.fixture(scope="session")
def ratings_generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated ratings bronze lake (never run); copy it before changing anything."""
    root = tmp_path_factory.mktemp("ratings-bronze")
    generate_ratings(Lake(root), SMALL_RATINGS, workers=1)
    return root


@pytest.fixture(scope="session")
def ratings_lake(ratings_generated: Path, tmp_path_factory: pytest.TempPathFactory) -> Lake:
    """The small ratings lake, built; copy it (symlinks=True) before changing anything."""
    return built(ratings_generated, tmp_path_factory.mktemp("ratings"), run_ratings)


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated bronze lake (never run); copy it with `lake_copy` before changing anything."""
    root = tmp_path_factory.mktemp("generated")
    generate(Lake(root), SMALL, workers=1)
    return root


@pytest.fixture(scope="session")
def clean_snapshot(generated: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, pl.DataFrame]:
    """Every table of the generated lake built in one uninterrupted run: what any other route must reach."""
    root = tmp_path_factory.mktemp("clean") / "lake"
    shutil.copytree(generated, root)
    run_lake(Lake(root))
    return snapshot(Lake(root))


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    return Lake(tmp_path / "lake")


@pytest.fixture
def lake_copy(generated: Path, tmp_path: Path) -> Lake:
    """A fresh copy of the generated bronze lake."""
    root = tmp_path / "lake"
    shutil.copytree(generated, root)
    return Lake(root)


def run_lake(lake: Lake, **options) -> object:
    """A run of the meters domain (unless `domains` says otherwise)."""
    return run(lake, RunOptions(**{"threads": 2, "domains": ("meters",), **options}), "test")


def arrivals(data: st.DataObject, files: list[Path], least: int = 1) -> list[list[Path]]:
    """The files in a random order, cut into `least` to four batches (a hypothesis draw)."""
    order = data.draw(st.permutations(files), label="arrival order")
    boundaries = st.sets(st.integers(1, len(files) - 1), min_size=least - 1, max_size=3)
    cuts = sorted(data.draw(boundaries, label="batch boundaries"))
    return [order[start:stop] for start, stop in zip([0, *cuts], [*cuts, len(files)])]


def deliver(source: Path, lake: Lake, batch: list[Path]) -> None:
    """Copy files (relative to a lake root) from `source` into `lake`, as producers would drop them."""
    for rel in batch:
        (lake.root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / rel, lake.root / rel)


def write_bronze(lake: Lake, table: str, name: str, text: str | bytes, domain: str = "meters") -> Path:
    path = lake.bronze_dir(domain, table) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def silver(lake: Lake, table: str, domain: str = "meters") -> pl.DataFrame:
    return read_table(lake.root / "silver" / domain / table, contracts.get("silver", domain, table))


def quarantine(lake: Lake, table: str, domain: str = "meters") -> pl.DataFrame:
    return pl.read_parquet(lake.root / "silver" / "_quarantine" / domain / table / "*.parquet")


def gold(lake: Lake, table: str, domain: str = "meters") -> pl.DataFrame:
    return read_table(lake.root / "gold" / domain / table, contracts.get("gold", domain, table))


def ledger(lake: Lake, table: str, domain: str = "meters") -> pl.DataFrame:
    paths = sorted((lake.ledger / domain / table).rglob("*.csv"))
    types = {"line": pl.Int64, "detail": pl.String, "sheet": pl.String}
    return pl.concat([pl.read_csv(p, schema_overrides=types) for p in paths], how="diagonal")


def snapshot(lake: Lake, domain: str | None = "meters") -> dict[str, pl.DataFrame]:
    """Every silver, quarantine and gold table, sorted, without run ids or build times: for comparing two
    lakes."""
    tables = {}
    for table in contracts.tables(domain=domain):
        if table.layer == "silver" and not table.computed:
            rows = quarantine(lake, table.name, table.domain).drop("_run_id")
            tables[f"quarantine_{table.domain}.{table.name}"] = _sorted(rows)
        if table.layer == "silver":
            tables[table.qualified_name] = _sorted(silver(lake, table.name, table.domain))
        else:
            tables[table.qualified_name] = _sorted(
                gold(lake, table.name, table.domain).drop("created_at", strict=False)
            )
    return tables


def _sorted(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.sort(frame.columns[:1] + [c for c in frame.columns[1:] if frame.schema[c] != pl.List(pl.String)])


def assert_same(left: dict[str, pl.DataFrame], right: dict[str, pl.DataFrame]) -> None:
    """Two snapshots hold the same tables with the same rows."""
    from polars.testing import assert_frame_equal

    assert left.keys() == right.keys()
    for name in left:
        try:
            assert_frame_equal(left[name], right[name])
        except AssertionError as error:
            raise AssertionError(f"{name}: {error}") from None

"""The telecom generator (WTC): CRM accounts, CDR data usage and voice calls, forex quotes.

Bronze arrives in windows: the first run writes the whole period, a file per feed and day; `--minutes N` appends
the next N minutes as one more file per feed, simulating live feeds. A window's files hold what *arrived* in it,
and what arrives is a pure function of the seed and the time, so windows never overlap and any split of the same
period carries the same events. `_ledger/telecom/extent.json` records how far bronze reaches.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import polars as pl

from contracts.schema import Table
from contracts.telecom import silver
from core.errors import LakehouseError
from core.lake import Lake
from core.store import write_json_atomically
from generators.core import TableFile, count_file, pick, remember_parameters, rng_for
from generators.dirt import choose_malformed, clean_file, duplicate, insert_copies, render, tag, untagged
from generators.tasks import run_tasks
from generators.telecom.cdr import window_events
from generators.telecom.forex import window_ticks
from generators.telecom.params import TelecomDirt, TelecomParams
from generators.telecom.population import accounts, devices

__all__ = ["TelecomDirt", "TelecomParams", "generate", "extent"]

DAY = dt.timedelta(days=1)
STAMP = "%Y%m%dT%H%M%S"


@dataclass(frozen=True)
class _Window:
    root: str
    params: TelecomParams
    start: dt.datetime
    end: dt.datetime

    @property
    def name(self) -> str:
        return f"{self.start:{STAMP}}_{self.end:{STAMP}}.csv"


def extent(lake: Lake) -> dt.datetime | None:
    """Where the generated bronze ends (exclusive), or None before the first run."""
    path = _extent_path(lake)
    return dt.datetime.fromisoformat(json.loads(path.read_text())["end"]) if path.exists() else None


def generate(lake: Lake, params: TelecomParams, workers: int, minutes: int | None = None) -> dict[str, dict]:
    """Write bronze up to params.end, or the next `minutes` after the current extent; returns per table the
    files and rows written."""
    reached = extent(lake)
    if minutes is not None:
        if reached is None:
            raise LakehouseError("--minutes appends to generated bronze; run `lakehouse generate telecom` first")
        params = replace(params, end=reached + dt.timedelta(minutes=minutes))
    remember_parameters(lake, "telecom", asdict(params), extendable={"end"})
    totals: dict[str, dict] = {}
    for file in _reference_files(params):
        count_file(totals, file.table.name, *file.write(lake))
    begin = reached or params.start
    windows = [_Window(str(lake.root), params, a, b) for a, b in _split_at_midnight(begin, params.end)]
    for counts in run_tasks(_write_window, windows, workers, desc="generate telecom"):
        for table, (written, rows) in counts.items():
            count_file(totals, table, written, rows)
    if params.end > begin:
        write_json_atomically(_extent_path(lake), {"end": params.end.isoformat()})
    return totals


def _extent_path(lake: Lake) -> Path:
    return lake.ledger / "telecom" / "extent.json"


def _split_at_midnight(start: dt.datetime, end: dt.datetime) -> list[tuple[dt.datetime, dt.datetime]]:
    cuts = [start]
    midnight = dt.datetime.combine(start.date(), dt.time()) + DAY
    while midnight < end:
        cuts.append(midnight)
        midnight += DAY
    return list(zip(cuts, cuts[1:] + [end])) if end > start else []


def _reference_files(params: TelecomParams) -> list[TableFile]:
    """The CRM extracts. No tariff file: the seed's producers had none, and gold prices at the seed's tariff while
    bronze holds none."""
    people = accounts(params)
    frames = {
        silver.crm_accounts: people,
        silver.crm_addresses: people,
        silver.crm_devices: devices(params),
    }
    return [clean_file(table, frame, params.seed) for table, frame in frames.items()]


def _write_window(window: _Window) -> dict[str, tuple[bool, int]]:
    params, lake = window.params, Lake(Path(window.root))
    data, calls = window_events(params, window.start, window.end)
    ticks = window_ticks(params, window.start, window.end)
    files = [
        _cdr_file(window, silver.cdr_data_usage, data, "up_bytes", ["up_bytes", "down_bytes", "tower_id"]),
        _cdr_file(window, silver.cdr_voice_calls, calls, "call_duration_sec", ["call_duration_sec", "tower_id"]),
        _forex_file(window, ticks),
    ]
    return {file.table.name: file.write(lake) for file in files}


def _cdr_file(window: _Window, table: Table, events: pl.DataFrame, amount: str, numeric: list[str]) -> TableFile:
    """A CDR feed's window with its defects: negated amounts, broken lines, unknown subscribers, repeats."""
    dirt = window.params.dirt
    rng = rng_for(window.params.seed, table.name, window.start.isoformat(), window.end.isoformat())
    events = tag(untagged(events), events.get_column("_late"), "late", pl.lit("arrived hours after the event"))
    negative = pick(rng, len(events), dirt.negative) & (events.get_column(amount).to_numpy() > 0)
    events = tag(events, negative, "negative").with_columns(
        pl.when(pl.lit(pl.Series(negative))).then(-pl.col(amount)).otherwise(pl.col(amount)).alias(amount)
    )
    events = choose_malformed(events, rng, dirt.malformed, numeric=True)
    stranger = pl.format("+2799{}", pl.col("msisdn").str.slice(-7)).alias("msisdn")
    unknown = pick(rng, len(events), dirt.unknown_msisdn)
    events = insert_copies(events, unknown, "unknown_msisdn", pl.lit("msisdn not in crm_accounts"), [stranger])
    events = duplicate(events, rng, dirt.duplicate, pl.col("msisdn"))
    return render(events, table, rng, numeric, window.name)


def _forex_file(window: _Window, ticks: pl.DataFrame) -> TableFile:
    dirt = window.params.dirt
    rng = rng_for(window.params.seed, "forex_raw", window.start.isoformat(), window.end.isoformat())
    ticks = choose_malformed(untagged(ticks), rng, dirt.forex_malformed, numeric=True)
    ticks = duplicate(ticks, rng, dirt.forex_duplicate, pl.col("timestamp"))
    return render(ticks, silver.forex_raw, rng, ["bid_price", "ask_price", "spread"], window.name)

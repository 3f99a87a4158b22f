"""One run of the lake: recover from any crash, bring silver up to date, rebuild stale gold, refresh the catalog.

Every run writes a manifest, `data/_runs/<run-id>.json`: its inputs, per-table rows in / loaded / quarantined /
duplicates, durations, outputs, and how it ended, domain by domain.

Domains share nothing but the lake, so one domain's problem (a changed bronze file, a table that cannot account for
its rows, a gold model failing its checks) stops that domain alone: the others run to completion and are
published, and the run then fails naming the domain and, for changed bronze, the cheapest repair.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import shutil
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import contracts
from bronze.files import BronzeChangedError
from contracts.schema import Table
from core import logs
from core.errors import LakehouseError
from core.lake import Lake
from core.lock import lake_lock
from core.parallel import run_each, run_graph
from core.progress import progress
from core.store import TableStore, read_table, wait_for_garbage, write_json_atomically
from gold.result import GoldResult
from pipelines import history, unchanged
from pipelines.engine import check_engine
from pipelines.gold_stage import engines_started, run_gold
from pipelines.graph import topological
from pipelines.manifest import Manifest, conclude, domain_failed, now, timed
from pipelines.recovery import recover
from pipelines.repair import repair_command
from pipelines.selection import resolve_domains, select_models
from silver.result import SilverResult

if TYPE_CHECKING:
    import polars as pl


# Imported where they are used: polars, DuckDB, the silver jobs and the gold builder (about 0.5 s together), which a
# run with nothing to do never needs (pipelines/unchanged.py).


@dataclass(frozen=True)
class RunOptions:
    domains: tuple[str, ...] = ()  # empty: every domain
    select: tuple[str, ...] = ()  # gold selectors: name, name+, +name
    full_refresh: bool = False
    layers: tuple[str, ...] = ("silver", "gold")
    threads: int | None = None
    memory_limit: str | None = None
    quiet: bool = False  # log to the run's JSON file only, not to stderr
    date: str | None = None  # reprocess this day (YYYY-MM-DD) from its Hive-style bronze folders
    engine: str = "duckdb"  # what builds gold models: "duckdb" or "spark" (silver stays polars)
    spark_master: str = "local[*]"  # a local Spark session's master
    spark_remote: str | None = None  # a Spark Connect server instead (sc://HOST:15002)


def run(lake: Lake, options: RunOptions, command: str) -> Manifest:
    domains = resolve_domains(options.domains)
    check_engine(options.engine, options.spark_remote)
    selected = select_models(options.select, domains) if options.select else set()
    with lake_lock(lake, command):
        run_id = dt.datetime.now(dt.timezone.utc).strftime(history.RUN_ID_FORMAT)
        logs.setup(lake.logs / f"{run_id}.jsonl", quiet=options.quiet)
        manifest = Manifest(run_id, command, str(lake.root), asdict(options))
        started = time.monotonic()
        try:
            timed(manifest.durations, "recover", lambda: recover(lake))
            complete = not (options.select or options.full_refresh or options.date) and len(options.layers) == 2
            listings = {d: unchanged.bronze_listing(lake, d) for d in domains} if complete else {}
            if complete and all(unchanged.matches(lake, d, listings[d]) for d in domains):
                _all_current(lake, domains, manifest)
            else:
                _work(lake, run_id, domains, options, selected, manifest, listings)
                for domain in domains:  # so far manifest.domains names the failed ones
                    if domain in listings and domain not in manifest.domains:
                        unchanged.record(lake, domain, listings[domain])
                    else:
                        unchanged.forget(lake, domain)
            conclude(manifest, domains)
        except LakehouseError as error:
            manifest.status, manifest.error = "failed", str(error)
            raise
        except KeyboardInterrupt:  # Ctrl-C, or SIGTERM to the refresh service
            manifest.status = "interrupted"
            raise
        finally:
            wait_for_garbage()
            shutil.rmtree(lake.tmp, ignore_errors=True)
            manifest.durations["total"] = round(time.monotonic() - started, 3)
            manifest.finished_at = now()
            manifest.outputs = _outputs(lake, domains)
            write_json_atomically(lake.runs / f"{run_id}.json", asdict(manifest))
            history.prune(lake)
            logs.event("run_finished", _summary(manifest), status=manifest.status, run_id=run_id)
        return manifest


def _work(
    lake: Lake,
    run_id: str,
    domains: list[str],
    options: RunOptions,
    selected: set[str],
    manifest: Manifest,
    listings: Mapping[str, unchanged.Listing],
) -> None:
    """Silver, gold and the catalog, each checked table by table. `listings`: the domains' bronze files, where the
    run listed them."""
    from pipelines import catalog

    # what domains run side by side share: no more tables or models at once than there are threads
    jobs = threading.BoundedSemaphore(options.threads or os.cpu_count() or 1)
    both = len(options.layers) == 2  # then each domain's DuckDB starts while silver runs
    with engines_started(lake, domains, options) if both else contextlib.nullcontext({}) as started:
        if "silver" in options.layers:
            timed(
                manifest.durations,
                "silver",
                lambda: _run_silver(lake, run_id, domains, options, manifest, jobs, listings),
            )
            if options.date:
                _check_reprocessed(lake, domains, options.date, manifest)
        if "gold" in options.layers:
            healthy = [d for d in domains if d not in manifest.domains]  # so far it names the failed ones
            timed(
                manifest.durations,
                "gold",
                lambda: run_gold(lake, run_id, healthy, options, selected, manifest, jobs, started),
            )
    timed(manifest.durations, "catalog", lambda: catalog.refresh(lake))


def _all_current(lake: Lake, domains: list[str], manifest: Manifest) -> None:
    """What checking every table would find when nothing it rests on changed (pipelines/unchanged.py): each current,
    as its state says."""
    for table in contracts.tables():
        if table.domain not in domains or table.layer not in ("silver", "gold"):
            continue
        state = TableStore(lake, table).state()
        if table.layer == "silver":
            result = SilverResult(table, "up_to_date", state["version"], totals=state["rows"])
            manifest.silver[table.qualified_name] = _silver_entry(result)
        else:
            result = GoldResult(table.qualified_name, "up_to_date", state["version"], state.get("rows"))
            manifest.gold[table.qualified_name] = asdict(result)
    logs.event("run_unchanged", "nothing changed since the last complete run: every table is current")


def _run_silver(
    lake: Lake,
    run_id: str,
    domains: list[str],
    options: RunOptions,
    manifest: Manifest,
    jobs: threading.Semaphore,
    listings: Mapping[str, unchanged.Listing],
) -> None:
    """The domains side by side; a domain that fails is recorded, with the cheapest repair if its bronze changed."""

    def domain_silver(domain: str) -> None:
        try:
            timed(
                manifest.domain_seconds.setdefault(domain, {}),
                "silver",
                lambda: _run_domain_silver(lake, run_id, domain, options, manifest, jobs, listings.get(domain)),
            )
        except LakehouseError as error:
            repair = repair_command(domain, error.altered) if isinstance(error, BronzeChangedError) else None
            domain_failed(manifest, domain, "silver", error, repair)

    run_each(domain_silver, domains)


def _run_domain_silver(
    lake: Lake,
    run_id: str,
    domain: str,
    options: RunOptions,
    manifest: Manifest,
    jobs: threading.Semaphore,
    listing: unchanged.Listing | None,
) -> None:
    """Bring the domain's silver tables up to date, each once its parents are, side by side where they are
    independent (a refresh cycle's small jobs are mostly latency), those heading the heaviest bronze first where
    the run listed it (`listing`); the first table that fails stops the domain."""
    if not any(p.suffix.lower() in (".csv", ".xlsx") for p in (lake.bronze / domain).rglob("*")):
        logs.event(
            "no_bronze",
            f"warning: no bronze files under {lake.bronze / domain}; add CSV files there, "
            f"or generate some with `lakehouse generate {domain}`",
            logging.WARNING,
            domain=domain,
        )
    tables = {t.name: t for t in contracts.tables("silver", domain)}
    reads = {name: [fk.table for fk in t.foreign_keys] for name, t in tables.items()}
    reads |= {name: [s.name for s in contracts.computed_from(t)] for name, t in tables.items() if t.computed}
    _warm_up_computed(lake, [t for t in tables.values() if t.computed])

    def build(name: str) -> bool:
        table = tables[name]
        try:
            result = _silver_job(lake, run_id, table, tables, options).run()
        except LakehouseError as error:
            manifest.silver[table.qualified_name] = {"status": "failed", "message": str(error)}
            raise
        manifest.inputs += [{"table": table.qualified_name, **f} for f in result.inputs]
        manifest.silver[table.qualified_name] = _silver_entry(result)
        _log_silver(result)
        return True

    weights = _bronze_weights(tables.values(), listing) if listing is not None else None
    run_graph(build, topological(reads), reads, options.threads, jobs, weights)


def _bronze_weights(tables: Iterable[Table], listing: unchanged.Listing) -> dict[str, float]:
    """The bytes of each table's bronze files (a computed table's weight is not known): what its job is expected
    to cost, so that the costliest chains of jobs start first. In contract order, a telecom build read its CDR
    before its forex quotes, twice their size, and ended with those alone on one core."""
    folders: dict[str, float] = defaultdict(float)
    for name, size, *_ in listing:
        folders[name.split(os.sep, 1)[0]] += size
    return {t.name: folders[t.bronze_dir_name] for t in tables if not t.computed}


def _silver_job(lake: Lake, run_id: str, table: Table, tables: dict[str, Table], options: RunOptions) -> Any:
    """The job that brings one silver table up to date: read from bronze, or computed from other silver tables."""
    from silver.job import SilverJob
    from silver.jobs import computed_by, derivation_for

    if table.computed:
        return computed_by(table)(lake, table, run_id, options.full_refresh)
    parents = {fk.table: _current_rows(lake, tables[fk.table]) for fk in table.foreign_keys}
    return SilverJob(
        lake,
        table,
        run_id,
        parents,
        derivation_for(table),
        options.full_refresh,
        progress,
        options.threads,
        options.date,
    )


def _warm_up_computed(lake: Lake, computed: list[Table]) -> None:
    """Start loading what a computed table needs (settlement's compiled loop) in a thread, while silver reads new
    files, when some bronze file is newer than the table. Only a guess, so that a run with nothing new pays nothing:
    the job loads it itself when it must."""
    from silver.jobs import computed_by

    for table in computed:
        warm_up = getattr(computed_by(table), "warm_up", None)
        if warm_up is None:
            continue
        state = lake.state_path(table)
        built = state.stat().st_mtime if state.exists() else 0
        if any(p.stat().st_mtime > built for p in (lake.bronze / table.domain).rglob("*") if p.is_file()):
            threading.Thread(target=warm_up, daemon=True).start()


def _check_reprocessed(lake: Lake, domains: list[str], date: str, manifest: Manifest) -> None:
    if not any(f"={date}/" in f["file"] for f in manifest.inputs):
        folders = ", ".join(str(lake.bronze / d) for d in domains)
        raise LakehouseError(
            f"--date {date}: no bronze folder named <column>={date} under {folders}; --date reprocesses a day of "
            "Hive-style bronze (e.g. transactions/date=2024-03-01/)"
        )


def _current_rows(lake: Lake, table: Table) -> tuple[str, Callable[[], pl.DataFrame]]:
    """A parent's version, and how to read its rows (only a job with new rows reads them)."""
    state = TableStore(lake, table).state()
    if state is None:
        raise LakehouseError(f"{table.qualified_name} has not been built")
    return state["version"], lambda: read_table(lake.table_path(table), table)


def _silver_entry(result: SilverResult) -> dict[str, Any]:
    return {
        "status": result.status,
        "version": result.version,
        "files_in": len(result.inputs),
        "rows_in": sum(f["rows"] for f in result.inputs),
        "changes": result.changes,
        "totals": result.totals,
        "conserved": True,
        "seconds": result.seconds,
    }


def _log_silver(result: SilverResult) -> None:
    name = result.table.qualified_name
    for facts in result.inputs:
        if facts.get("refused"):
            logs.event(
                "file_refused",
                f"warning: {facts['file']} is refused whole ({facts['refused']}); it is in the quarantine of {name}, "
                "and is read again if it is replaced",
                logging.WARNING,
                file=facts["file"],
            )
        elif not facts["header_ok"]:
            logs.event(
                "bad_header",
                f"warning: {facts['file']} does not have the header of {name}; all its "
                f"{facts['rows']} rows are quarantined",
                logging.WARNING,
                file=facts["file"],
            )
    if result.status == "up_to_date":
        logs.event("silver_up_to_date", f"silver {name}: up to date", table=name)
        return
    c, t = result.changes, result.totals
    if result.table.computed:
        message = f"silver {name}: {t['loaded']:,} rows, {c['partitions_rebuilt']} partition(s) rebuilt"
        logs.event("silver_built", f"{message} in {result.seconds:.1f} s", table=name, totals=t, seconds=result.seconds)
        return
    logs.event(
        "silver_built",
        f"silver {name}: {len(result.inputs)} new file(s), {sum(f['rows'] for f in result.inputs):,} rows in; "
        f"{c['loaded']:+,} loaded, {c['quarantined']:+,} quarantined, {c['duplicates']:+,} duplicates "
        f"(now {t['loaded']:,} / {t['quarantined']:,} / {t['duplicates']:,}) in {result.seconds:.1f} s",
        table=name,
        changes=c,
        totals=t,
        seconds=result.seconds,
    )


def _outputs(lake: Lake, domains: list[str]) -> list[dict[str, Any]]:
    outputs = []
    for table in contracts.tables():
        state = TableStore(lake, table).state() if table.domain in domains else None
        if state:
            rows = state["rows"]["loaded"] if table.layer == "silver" else state.get("rows")
            outputs.append(
                {
                    "table": table.qualified_name,
                    "path": str(lake.table_path(table)),
                    "version": state["version"],
                    "rows": rows,
                }
            )
    return outputs


def _summary(manifest: Manifest) -> str:
    if manifest.status == "up_to_date":
        return "up to date: no new bronze files and every gold table is current"
    if manifest.status == "failed":
        return f"run {manifest.run_id} failed after {manifest.durations['total']:.1f} s"
    built = sum(1 for r in (*manifest.silver.values(), *manifest.gold.values()) if r["status"] == "built")
    return f"run {manifest.run_id} built {built} table(s) in {manifest.durations['total']:.1f} s"

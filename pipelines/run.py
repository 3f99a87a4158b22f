"""One run of the lake: recover from any crash, bring silver up to date, rebuild stale gold, refresh the catalog.

Every run writes a manifest, `data/_runs/<run-id>.json`: its inputs, per-table rows in / loaded / quarantined /
duplicates, durations, outputs, and how it ended.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import polars as pl

import contracts
from contracts.schema import Table
from gold.build import GoldBuilder
from gold.models import dependencies, models
from pipelines import catalog, logs
from pipelines.errors import CheckFailedError, LakehouseError
from pipelines.graph import downstream, topological, upstream
from pipelines.lake import Lake
from pipelines.lock import lake_lock
from pipelines.progress import progress
from pipelines.store import TableStore, wait_for_garbage, write_json_atomically
from silver import computed_by, derivation_for
from silver.job import SilverJob, SilverResult


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


@dataclass
class Manifest:
    run_id: str
    command: str
    data_dir: str
    options: dict[str, Any]
    started_at: str = field(default_factory=lambda: _now())
    finished_at: str | None = None
    status: str = "running"
    error: str | None = None
    inputs: list[dict[str, Any]] = field(default_factory=list)
    silver: dict[str, Any] = field(default_factory=dict)
    gold: dict[str, Any] = field(default_factory=dict)
    durations: dict[str, float] = field(default_factory=dict)
    outputs: list[dict[str, Any]] = field(default_factory=list)


def run(lake: Lake, options: RunOptions, command: str) -> Manifest:
    domains = resolve_domains(options.domains)
    with lake_lock(lake, command):
        run_id = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        logs.setup(lake.logs / f"{run_id}.jsonl", quiet=options.quiet)
        manifest = Manifest(run_id, command, str(lake.root), asdict(options))
        started = time.monotonic()
        try:
            _timed(manifest, "recover", lambda: recover(lake))
            if "silver" in options.layers:
                _timed(manifest, "silver", lambda: _run_silver(lake, run_id, domains, options, manifest))
                if options.date:
                    _check_reprocessed(lake, domains, options.date, manifest)
            if "gold" in options.layers:
                _timed(manifest, "gold", lambda: _run_gold(lake, run_id, domains, options, manifest))
            _timed(manifest, "catalog", lambda: catalog.refresh(lake))
            built = [r for r in (*manifest.silver.values(), *manifest.gold.values()) if r["status"] == "built"]
            manifest.status = "succeeded" if built else "up_to_date"
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
            manifest.finished_at = _now()
            manifest.outputs = _outputs(lake, domains)
            write_json_atomically(lake.runs / f"{run_id}.json", asdict(manifest))
            logs.event("run_finished", _summary(manifest), status=manifest.status, run_id=run_id)
        return manifest


def recover(lake: Lake) -> None:
    """Finish what a crashed run left: point stable paths at committed versions, delete uncommitted ones."""
    for table in contracts.tables():
        store = TableStore(lake, table)
        state = store.state()
        if state is not None:
            store.repair_links()
        store.collect_garbage(keep_previous=state.get("previous_version") if state else None)
    shutil.rmtree(lake.tmp, ignore_errors=True)


def _run_silver(lake: Lake, run_id: str, domains: list[str], options: RunOptions, manifest: Manifest) -> None:
    for domain in domains:
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
        order = topological(reads)
        _warm_up_computed(lake, [t for t in tables.values() if t.computed])
        for name in order:
            table = tables[name]
            if not table.computed:
                parents = {fk.table: _current_rows(lake, tables[fk.table]) for fk in table.foreign_keys}
                job = SilverJob(
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
            else:
                job = computed_by(table)(lake, table, run_id, options.full_refresh)
            result = job.run()
            manifest.inputs += [{"table": table.qualified_name, **f} for f in result.inputs]
            manifest.silver[table.qualified_name] = _silver_entry(result)
            _log_silver(result)


def _warm_up_computed(lake: Lake, computed: list[Table]) -> None:
    """Start loading what a computed table needs (settlement's compiled loop) in a thread, while silver reads new
    files, when some bronze file is newer than the table. Only a guess, so that a run with nothing new pays nothing:
    the job loads it itself when it must."""
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


def _current_rows(lake: Lake, table: Table) -> tuple[str, pl.DataFrame]:
    state = TableStore(lake, table).state()
    if state is None:
        raise LakehouseError(f"{table.qualified_name} has not been built")
    return state["version"], pl.read_parquet(lake.table_path(table) / "**" / "*.parquet")


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
        if not facts["header_ok"]:
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


def _run_gold(lake: Lake, run_id: str, domains: list[str], options: RunOptions, manifest: Manifest) -> None:
    graph = dependencies()
    candidates = [name for name in topological(graph) if models()[name].table.domain in domains]
    forced = _selected(options.select, candidates, graph) if options.select else set()
    if options.full_refresh:
        forced = set(candidates)
    chosen = [n for n in candidates if n in forced] if options.select else candidates
    builder = GoldBuilder(lake, run_id, options.threads, options.memory_limit)
    try:
        failed = _build_models(builder, chosen, forced, graph, manifest)
    finally:
        builder.close()
    if failed:
        raise CheckFailedError(f"{len(failed)} gold model(s) failed: {', '.join(failed)}; see the messages above")


def _build_models(
    builder: GoldBuilder, chosen: list[str], forced: set[str], graph: dict[str, tuple[str, ...]], manifest: Manifest
) -> list[str]:
    """Build models in order; a failed model skips its descendants but not the others. Returns the failed."""
    failed: list[str] = []
    blocked: set[str] = set()
    for name in progress(chosen, desc="gold", unit="model"):
        if name in blocked:
            manifest.gold[name] = {"status": "skipped", "message": "an upstream model failed"}
            continue
        try:
            result = builder.build(models()[name], force=name in forced)
        except CheckFailedError as error:
            logs.event("gold_failed", f"error: {error}", logging.ERROR, model=name)
            manifest.gold[name] = {"status": "failed", "message": str(error)}
            failed.append(name)
            blocked |= downstream(graph, name)
            continue
        manifest.gold[name] = asdict(result)
        if result.status == "built":
            message = f"gold {name}: {result.rows:,} rows in {result.seconds:.1f} s"
            logs.event("gold_built", message, model=name, rows=result.rows, seconds=result.seconds)
    return failed


def _selected(selectors: tuple[str, ...], candidates: list[str], graph: dict[str, tuple[str, ...]]) -> set[str]:
    """dbt-style selection: `m` the model, `m+` and its descendants, `+m` and its ancestors."""
    chosen: set[str] = set()
    for selector in selectors:
        name = selector.strip("+")
        matches = [c for c in candidates if c == name or c.split(".")[1] == name]
        if len(matches) != 1:
            known = ", ".join(sorted(c.split(".")[1] for c in candidates))
            problem = "is ambiguous" if matches else "matches no gold model"
            raise LakehouseError(f"--select {selector} {problem}; models: {known}")
        model = matches[0]
        chosen.add(model)
        if selector.endswith("+"):
            chosen |= downstream(graph, model)
        if selector.startswith("+"):
            chosen |= {u for u in upstream(graph, model) if u in graph}
    return chosen & set(candidates)


def resolve_domains(requested: tuple[str, ...]) -> list[str]:
    unknown = [d for d in requested if d not in contracts.DOMAINS]
    if unknown:
        raise LakehouseError(f"unknown domain {unknown[0]!r}; domains: {', '.join(contracts.DOMAINS)}")
    return list(requested or contracts.DOMAINS)


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


def _timed(manifest: Manifest, stage: str, work: Callable[[], object]) -> None:
    started = time.monotonic()
    try:
        work()
    finally:
        manifest.durations[stage] = round(time.monotonic() - started, 3)


def _summary(manifest: Manifest) -> str:
    if manifest.status == "up_to_date":
        return "up to date: no new bronze files and every gold table is current"
    if manifest.status == "failed":
        return f"run {manifest.run_id} failed after {manifest.durations['total']:.1f} s"
    built = sum(1 for r in (*manifest.silver.values(), *manifest.gold.values()) if r["status"] == "built")
    return f"run {manifest.run_id} built {built} table(s) in {manifest.durations['total']:.1f} s"


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")

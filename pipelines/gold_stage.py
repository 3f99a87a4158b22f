"""A run's gold stage: the stale (or selected) models of each domain, built as their dependencies allow."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict
from typing import TYPE_CHECKING

from core import logs
from core.errors import CheckFailedError, LakehouseError
from core.lake import Lake
from core.parallel import run_each, run_graph
from core.progress import progress
from gold.models import dependencies, models
from pipelines.engine import gold_engine
from pipelines.graph import topological
from pipelines.manifest import Manifest, domain_failed, timed

if TYPE_CHECKING:
    from engines.duckdb_engine import DuckDBEngine
    from gold.build import GoldBuilder
    from pipelines.run import RunOptions


@contextlib.contextmanager
def engines_started(lake: Lake, domains: list[str], options: RunOptions) -> Iterator[dict[str, Future[DuckDBEngine]]]:
    """Each domain's DuckDB, started in a background thread while silver runs (connecting, binding views and
    macros: 60-90 ms a domain), for `run_gold`; on leaving, those no gold stage took are closed (closing twice is
    harmless)."""
    from gold.build import start_duckdb

    with ThreadPoolExecutor(max_workers=1) as starter:
        started = {d: starter.submit(start_duckdb, lake, d, options.threads, options.memory_limit) for d in domains}
        try:
            yield started
        finally:
            for engine in started.values():
                if not engine.cancel() and engine.exception() is None:
                    engine.result().close()


def run_gold(
    lake: Lake,
    run_id: str,
    domains: list[str],
    options: RunOptions,
    selected: set[str],
    manifest: Manifest,
    jobs: threading.Semaphore,
    started: Mapping[str, Future[DuckDBEngine]],
) -> None:
    """Build the stale (or selected) models of `domains`, the domains (and a domain's independent models) side by
    side on DuckDB (models read no other domain's tables), one after the other on Spark, which shares its session;
    a domain with a failed model fails. `started`: DuckDB engines already starting, by domain."""
    from gold.build import GoldBuilder, other_domains_read

    graph = dependencies()
    candidates = [name for name in topological(graph) if models()[name].table.domain in domains]
    for name in candidates:
        if crossing := other_domains_read(models()[name]):
            raise LakehouseError(
                f"{models()[name].path}: {name} reads {', '.join(crossing)}, of another domain; a gold model reads "
                "its own domain's tables only (a run builds domains side by side): copy what it needs into its domain"
            )
    forced = set(candidates) if options.full_refresh else selected
    chosen = [n for n in candidates if n in forced] if options.select else candidates
    engine = gold_engine(lake, options.engine, options.spark_master, options.spark_remote)
    # on DuckDB a domain's models are built side by side too, as their dependencies allow: most of a small
    # model's time is latency (planning, checks, flushing files), and refresh cycles rebuild small days
    model_workers = 1 if engine is not None else options.threads

    def domain_gold(domain: str) -> None:
        builder = GoldBuilder(lake, run_id, options.threads, options.memory_limit, engine, domain, started.get(domain))
        try:
            names = [n for n in chosen if models()[n].table.domain == domain]
            failed = timed(
                manifest.domain_seconds.setdefault(domain, {}),
                "gold",
                lambda: _build_models(builder, names, forced, graph, manifest, options.engine, model_workers, jobs),
            )
        finally:
            builder.close()
        if failed:
            message = f"{len(failed)} gold model(s) failed: {', '.join(failed)}; see the messages above"
            domain_failed(manifest, domain, "gold", CheckFailedError(message))

    try:
        run_each(domain_gold, domains, workers=None if engine is None else 1)
    finally:
        if engine is not None:
            engine.close()


def _build_models(
    builder: GoldBuilder,
    chosen: list[str],
    forced: set[str],
    graph: dict[str, tuple[str, ...]],
    manifest: Manifest,
    engine: str,
    workers: int | None,
    jobs: threading.Semaphore,
) -> list[str]:
    """Build models, each once those it reads are built, `workers` at a time; a failed model skips its descendants
    but not the others. Returns the failed. Each model's entry names the engine that built it."""
    bar = progress(None, desc="gold", unit="model", total=len(chosen))

    def build(name: str) -> bool:
        try:
            result = builder.build(models()[name], force=name in forced)
        except CheckFailedError as error:
            logs.event("gold_failed", f"error: {error}", logging.ERROR, model=name)
            manifest.gold[name] = {"status": "failed", "message": str(error)}
            return False
        finally:
            bar.update()
        manifest.gold[name] = asdict(result)
        if result.status == "built":
            message = f"gold {name}: {result.rows:,} rows in {result.seconds:.1f} s"
            if engine != "duckdb":
                message += f" on {engine}"
            logs.event(
                "gold_built", message, model=name, rows=result.rows, seconds=result.seconds, engine=result.engine
            )
        return True

    try:
        for name in run_graph(build, chosen, graph, workers, jobs, _last_seconds(builder.lake, chosen)):
            manifest.gold[name] = {"status": "skipped", "message": "an upstream model failed"}
    finally:
        bar.close()
    return [name for name in chosen if manifest.gold.get(name, {}).get("status") == "failed"]


def _last_seconds(lake: Lake, names: list[str]) -> dict[str, float]:
    """What each model took when last built, as its state says: the costliest chains of models start first."""
    from core.store import TableStore

    states = {name: TableStore(lake, models()[name].table).state() or {} for name in names}
    return {name: float(state["seconds"]) for name, state in states.items() if "seconds" in state}

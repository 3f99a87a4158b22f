"""Materialise gold models with DuckDB: build aside, check against the contract, publish atomically.

A model is rebuilt when its fingerprint changes: its SQL, its contract, the shared macros or the version of any
table it reads. Otherwise it is up to date and left alone.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

import contracts
from gold.checks import check_table
from gold.models import Model, macros_sql
from pipelines.duck import connect, scalar, view_sql
from pipelines.errors import CheckFailedError, LakehouseError
from pipelines.lake import Lake
from pipelines.store import DATA, TableStore


@dataclass
class GoldResult:
    model: str
    status: str  # "built", "up_to_date" or "failed"
    version: str | None
    rows: int | None = None
    seconds: float = 0.0
    message: str | None = None


class GoldBuilder:
    def __init__(self, lake: Lake, run_id: str, threads: int | None = None, memory_limit: str | None = None):
        self.lake, self.run_id = lake, run_id
        self.con = connect(lake, threads, memory_limit)
        self.con.execute(macros_sql())

    def close(self) -> None:
        self.con.close()

    def fingerprint(self, model: Model) -> str:
        inputs = {}
        for name in model.depends_on:
            layer_domain, table_name = name.split(".")
            state = _state_of(self.lake, layer_domain, table_name)
            inputs[name] = state["version"] if state else None
        payload = {"sql": model.sql, "contract": repr(model.table), "macros": macros_sql(), "inputs": inputs}
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()

    def build(self, model: Model, force: bool = False) -> GoldResult:
        started = time.monotonic()
        store = TableStore(self.lake, model.table)
        previous = store.state()
        fingerprint = self.fingerprint(model)
        if previous and previous.get("fingerprint") == fingerprint and not force:
            return GoldResult(model.name, "up_to_date", previous["version"], previous.get("rows"))
        missing = [d for d in model.depends_on if _state_of(self.lake, *d.split(".")) is None]
        if missing:
            raise LakehouseError(
                f"{model.name} reads {', '.join(missing)}, which has not been built yet; "
                f"build it first (lakehouse run --select +{model.table.name})"
            )
        version_dir = store.new_version(self.run_id)
        try:
            self._materialise(model, version_dir)
            self._bind(model, version_dir / DATA)
            failures = check_table(self.con, model.table)
        except duckdb.Error as error:
            self._discard(model, version_dir, previous)
            raise CheckFailedError(f"{model.name} failed to build: {str(error).splitlines()[0]}") from None
        if failures:
            self._discard(model, version_dir, previous)
            found = "; ".join(f"{f.check} ({f.offending})" for f in failures)
            raise CheckFailedError(f"{model.name} failed its checks: {found}; the previous version stays published")
        rows = scalar(self.con, f"select count(*) from {model.name}")
        seconds = round(time.monotonic() - started, 3)
        store.publish(
            version_dir,
            {
                "run_id": self.run_id,
                "previous_version": previous["version"] if previous else None,
                "fingerprint": fingerprint,
                "rows": rows,
                "seconds": seconds,
            },
        )
        self._bind(model, self.lake.table_path(model.table))
        return GoldResult(model.name, "built", self.run_id, rows, seconds)

    def _materialise(self, model: Model, version_dir: Path) -> None:
        table = model.table
        query = f"select * from (\n{model.sql.strip().rstrip(';')}\n)"
        if not table.partition:  # small tables are ordered by key; large ones keep their input's order
            query += f" order by {', '.join(table.key)}"
        target = version_dir / DATA
        options = "format parquet, compression zstd"
        if table.partition:
            options += f", partition_by ({table.partition.column}), write_partition_columns true"
        else:
            target = target / "part-0.parquet"
        self.con.execute(f"copy ({query}) to '{target}' ({options})")
        if table.partition and not any(target.rglob("*.parquet")):  # no rows: keep the table readable, empty
            self.con.execute(f"copy ({query} limit 0) to '{target / 'part-0.parquet'}' (format parquet)")

    def _discard(self, model: Model, version_dir: Path, previous: dict | None) -> None:
        shutil.rmtree(version_dir, ignore_errors=True)
        self._bind(model, self.lake.table_path(model.table) if previous else None)

    def _bind(self, model: Model, path: Path | None) -> None:
        """Point the model's catalog name at `path` (a candidate version, the published one, or nothing)."""
        schema, name = model.name.split(".")
        if path is None:
            self.con.execute(f"drop view if exists {model.name}")
            return
        for statement in view_sql(schema, name, path):
            self.con.execute(statement)


def _state_of(lake: Lake, layer_domain: str, name: str) -> dict | None:
    layer, domain = layer_domain.split("_", 1)
    try:
        table = contracts.get(layer, domain, name)
    except KeyError:
        raise LakehouseError(f"a gold model reads {layer_domain}.{name}, which no contract declares") from None
    return TableStore(lake, table).state()

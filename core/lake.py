"""Where everything lives in the lake directory."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from contracts.schema import Table

DEFAULT_DATA_DIR = "data"
DATA_DIR_ENV = "LAKEHOUSE_DATA"


@dataclass(frozen=True)
class Lake:
    """The layout of one lake root (`./data` unless --data-dir or LAKEHOUSE_DATA says otherwise)."""

    root: Path

    @classmethod
    def locate(cls, data_dir: str | os.PathLike | None = None) -> Lake:
        chosen = data_dir or os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR
        return cls(Path(chosen).expanduser().resolve())

    @property
    def bronze(self) -> Path:
        return self.root / "bronze"

    @property
    def catalog(self) -> Path:
        return self.root / "lakehouse.duckdb"

    @property
    def runs(self) -> Path:
        return self.root / "_runs"

    @property
    def logs(self) -> Path:
        return self.root / "_logs"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    @property
    def ledger(self) -> Path:
        return self.root / "_ledger"

    @property
    def tmp(self) -> Path:
        return self.root / "_tmp"

    @property
    def unchanged(self) -> Path:
        """Per domain, what its last complete run rested on (pipelines/unchanged.py)."""
        return self.root / "_unchanged"

    @property
    def lock_file(self) -> Path:
        return self.root / "_lock"

    def bronze_dir(self, domain: str, table: str) -> Path:
        return self.bronze / domain / table

    def table_path(self, table: Table) -> Path:
        """The stable path readers use: a symlink to the table's current version."""
        return self.root / table.layer / table.domain / table.name

    def quarantine_path(self, table: Table) -> Path:
        return self.root / "silver" / "_quarantine" / table.domain / table.name

    def versions_dir(self, table: Table) -> Path:
        return self.root / "_versions" / table.layer / table.domain / table.name

    def state_path(self, table: Table) -> Path:
        return self.root / "_state" / table.layer / table.domain / f"{table.name}.json"

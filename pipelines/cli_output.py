"""How the command line prints query results, so `lakehouse sql` and `lakehouse trades` print alike."""

from __future__ import annotations

import json
import sys

import duckdb


def print_relation(relation: duckdb.DuckDBPyRelation, fmt: str) -> None:
    """Print every row as a box table, CSV or a JSON list of objects (`fmt`: table, csv or json)."""
    if fmt == "table":
        relation.show(max_rows=10_000)
    elif fmt == "csv":
        sys.stdout.write(relation.pl().write_csv())
    else:
        sys.stdout.write(json.dumps(relation.pl().to_dicts(), default=str, indent=1) + "\n")

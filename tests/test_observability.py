"""What a run leaves for people and tools: catalog views, manifests, JSON logs, the data dictionary."""

from __future__ import annotations

import json

import duckdb

import contracts
from pipelines.docs import dictionary
from tests.conftest import run_lake


def test_catalog_has_a_view_per_table_by_layer_and_domain(lake_copy) -> None:
    run_lake(lake_copy)
    con = duckdb.connect(str(lake_copy.catalog), read_only=True)
    views = {
        f"{s}.{n}"
        for s, n in con.execute("select schema_name, view_name from duckdb_views() where not internal").fetchall()
    }
    expected = {t.qualified_name for t in contracts.tables(domain="meters")}
    expected |= {f"quarantine_{t.domain}.{t.name}" for t in contracts.tables("silver", "meters")}
    assert views == expected
    rows = con.execute("select count(*) from gold_meters.fact_readings").fetchall()[0][0]
    assert rows == con.execute("select count(*) from silver_meters.readings").fetchall()[0][0] > 0
    assert (
        con.execute("select count(*) from quarantine_meters.readings where disposition = 'invalid'").fetchall()[0][0]
        > 0
    )


def test_manifest_accounts_for_inputs_stages_and_outputs(lake_copy) -> None:
    run_lake(lake_copy)
    [path] = list(lake_copy.runs.glob("*.json"))
    manifest = json.loads(path.read_text())
    assert manifest["status"] == "succeeded" and manifest["error"] is None
    assert {"recover", "silver", "gold", "catalog", "total"} <= manifest["durations"].keys()
    meters = manifest["domain_seconds"]["meters"]  # each domain's own wall time in each stage
    assert meters.keys() == {"silver", "gold"} and 0 < meters["silver"] <= manifest["durations"]["silver"]
    bronze_files = list(lake_copy.bronze.rglob("*.csv"))
    assert len(manifest["inputs"]) == len(bronze_files)
    readings = manifest["silver"]["silver_meters.readings"]
    assert readings["rows_in"] == readings["totals"]["bronze"] > 0 and readings["conserved"]
    assert manifest["gold"]["gold_meters.fact_readings"]["rows"] == readings["totals"]["loaded"]
    outputs = {o["table"]: o for o in manifest["outputs"]}
    assert outputs.keys() == {t.qualified_name for t in contracts.tables(domain="meters")}


def test_logs_are_json_lines_with_events(lake_copy) -> None:
    manifest = run_lake(lake_copy)
    lines = (lake_copy.logs / f"{manifest.run_id}.jsonl").read_text().splitlines()
    events = [json.loads(line) for line in lines]
    assert {"silver_built", "gold_built", "run_finished"} <= {e["event"] for e in events}
    assert all({"ts", "level", "event", "message"} <= e.keys() for e in events)


def test_data_dictionary_describes_every_table_and_column() -> None:
    text = dictionary()
    for table in contracts.tables():
        assert f"### `{table.qualified_name}`" in text
        for column in table.columns:
            assert f"| `{column.name}` |" in text

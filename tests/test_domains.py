"""One domain's problem stops that domain alone: the others are published, the run fails naming the domain and the
cheapest repair, and the manifest says how each domain ended."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import contracts
from core.lake import Lake
from core.store import TableStore
from pipelines.manifest import RunFailedError
from tests.conftest import run_payments

DAY = "date=2024-01-03"


def lakehouse(lake: Lake, *args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "pipelines.cli", "--data-dir", str(lake.root), *args]
    return subprocess.run(command, capture_output=True, text=True, env=os.environ, timeout=300)


@pytest.fixture
def two_domains(payments_lake: Lake, ratings_generated: Path, tmp_path: Path) -> Lake:
    """The built payments lake, and ratings files not yet ingested."""
    lake = Lake(tmp_path / "lake")
    shutil.copytree(payments_lake.root, lake.root, symlinks=True)
    shutil.copytree(ratings_generated / "bronze" / "ratings", lake.bronze / "ratings")
    return lake


def day_file(lake: Lake) -> Path:
    return lake.bronze_dir("payments", "transactions") / DAY / "transactions.csv"


def edit_a_day(lake: Lake) -> None:
    day_file(lake).write_text(day_file(lake).read_text().replace("success", "failed", 1))


def built(lake: Lake, domain: str) -> bool:
    return all(TableStore(lake, t).state() is not None for t in contracts.tables(domain=domain))


def latest_manifest(lake: Lake) -> dict:
    return json.loads(sorted(lake.runs.glob("*.json"))[-1].read_text())


def test_a_changed_file_stops_its_domain_alone_and_names_the_repair(two_domains: Lake) -> None:
    edit_a_day(two_domains)
    result = lakehouse(two_domains, "run", "--domain", "payments", "--domain", "ratings")
    assert result.returncode == 2, result.stderr
    message = result.stderr.strip().splitlines()[-1]
    assert message.startswith(
        f"lakehouse: error: domain payments failed: bronze file payments/transactions/{DAY}/transactions.csv "
        "changed after it was ingested"
    )
    assert message.endswith(
        "; repair: `lakehouse run --domain payments --date 2024-01-03` (the other domains ran to completion: ratings)"
    )
    assert built(two_domains, "ratings")
    manifest = latest_manifest(two_domains)
    assert manifest["status"] == "failed" and manifest["error"] == message.removeprefix("lakehouse: error: ")
    payments, ratings = manifest["domains"]["payments"], manifest["domains"]["ratings"]
    assert (payments["status"], payments["stage"], payments["exit_code"]) == ("failed", "silver", 2)
    assert payments["repair"] == "lakehouse run --domain payments --date 2024-01-03"
    assert ratings == {"status": "succeeded"}
    assert manifest["silver"]["silver_payments.transactions"]["status"] == "failed"
    assert not any(name.startswith("gold_payments.") for name in manifest["gold"])
    assert "gold_ratings.customer_ratings" in {o["table"] for o in manifest["outputs"]}

    repaired = lakehouse(two_domains, *payments["repair"].split()[1:])
    assert repaired.returncode == 0, repaired.stderr
    assert lakehouse(two_domains, "run").returncode == 0


@pytest.mark.parametrize(
    "alter",
    [
        lambda lake: day_file(lake).unlink(),  # vanished: reprocessing its day cannot account for it
        lambda lake: (lake.bronze_dir("payments", "customers") / "customers.csv").write_text("customer_id\n"),
    ],
    ids=["vanished", "not-in-a-day-folder"],
)
def test_other_changes_need_the_domain_rebuilt(two_domains: Lake, alter) -> None:
    alter(two_domains)
    with pytest.raises(RunFailedError) as failed:
        run_payments(two_domains)
    assert failed.value.exit_code == 2
    assert str(failed.value).endswith("; repair: `lakehouse run --full-refresh --domain payments`")
    assert not str(failed.value).startswith("domain ")  # a run of one domain needs no name


def test_a_refresh_cycle_reports_the_failed_domain_and_what_the_others_did(two_domains: Lake) -> None:
    edit_a_day(two_domains)
    result = lakehouse(two_domains, "refresh", "--once", "--domain", "payments", "--domain", "ratings")
    assert result.returncode == 2, result.stderr
    cycle = json.loads(result.stdout.splitlines()[-1])
    assert cycle["status"] == "failed" and "domain payments failed" in cycle["error"]
    assert "repair: `lakehouse run --domain payments --date 2024-01-03`" in cycle["error"]
    assert cycle["files"] == len(list((two_domains.bronze / "ratings").rglob("*.csv"))) > 0
    assert cycle["rows_in"] == cycle["loaded"] + cycle["quarantined"] + cycle["duplicates"] > 0
    assert built(two_domains, "ratings")

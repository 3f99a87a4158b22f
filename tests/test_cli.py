"""The `lakehouse` command as a user meets it: help everywhere, one-line errors, never a traceback."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from core.lake import Lake
from core.lock import lake_lock
from gold.models import dependencies
from pipelines.cli import main
from pipelines.graph import downstream, topological

COMMANDS = [
    [],
    ["generate"],
    ["generate", "meters"],
    ["generate", "telecom"],
    ["run"],
    ["refresh"],
    ["sql"],
    ["docs"],
    ["models"],
    ["bench"],
    ["dashboard"],
    ["generate", "payments"],
    ["generate", "trades"],
    ["trades"],
    ["serve"],
    ["history"],
]


def lakehouse(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pipelines.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        timeout=300,
    )


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "lakehouse")
def test_every_command_has_help(command: list[str], capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([*command, "--help"])
    assert exit_.value.code == 0
    assert "usage: lakehouse" in capsys.readouterr().out


@pytest.mark.parametrize(
    "args, message",
    [
        (["generate", "meters", "--start", "2024-13-01"], "--start: '2024-13-01' is not a date like 2024-01-31"),
        (["generate", "meters", "--meters", "0"], "--meters: '0' must be at least 1"),
        (["generate", "meters", "--dirt", "sparks=0.1"], "--dirt: unknown kind 'sparks'"),
        (["generate", "meters", "--dirt", "spike=lots"], "--dirt: 'spike=lots' needs a rate between 0 and 1"),
        (["generate", "meters", "--start", "2024-02-01", "--end", "2024-01-01"], "is before --start"),
        (["run", "--domain", "weather"], "unknown domain 'weather'"),
        (["generate", "telecom", "--minutes", "5"], "--minutes appends to generated bronze; run `lakehouse generate"),
        (["generate", "telecom", "--start", "yesterday"], "--start: 'yesterday' is not a time like 2024-01-01"),
        (["refresh", "--every", "often"], "--every: 'often' is not a positive interval such as 30s, 5m or 1h"),
        (["run", "--memory-limit", "lots"], "--memory-limit: 'lots' is not a memory limit such as 2GB, 512MiB or 75%"),
        (["refresh", "--memory-limit", "150%"], "--memory-limit: '150%' is not a memory limit such as 2GB"),
        (["run", "--memory-limit", "512"], "(Unknown unit for memory: ''"),
        (["run", "--threads", "0"], "--threads: '0' must be at least 1"),
        (["run", "--select", "fact_nothing"], "--select fact_nothing matches no gold model; models: "),
        (
            ["run", "--select", "dim_date+"],
            "--select dim_date+ is ambiguous: it matches gold_meters.dim_date, gold_payments.dim_date, "
            "gold_trades.dim_date; give one of these",
        ),
        (["run", "--domain", "payments", "--select", "fact_readings"], "is a model of meters, not of the --domain"),
        (["sql", "select 1", "--format", "parquet"], "--format parquet writes a file: add --out FILE"),
        (["sql", "select 1", "--out", "result.txt"], "--out result.txt: give --format csv, json, parquet"),
        (["sql", "--out", "result.csv"], "--out writes the result of a query: give one"),
        (["dashboard", "--port", "70000"], "--port: '70000' is not a port: give one from 1 to 65535"),
        (["refresh", "--domain", "weather", "--once"], "unknown domain 'weather'"),
        (["sql", "select 1"], "no catalog at"),
        (["generate", "trades", "--workbook-every", "0"], "--workbook-every: '0' must be at least 1"),
        (["generate", "trades", "--dirt", "late=2"], "--dirt: 'late=2' needs a rate between 0 and 1"),
        (["trades", "0000000a"], "no trades tables in"),
        (["trades", "0000000a", "--from", "2024-02-30"], "--from: '2024-02-30' is not a date like 2024-01-31"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
    ],
)
def test_user_mistakes_give_one_line_and_a_nonzero_exit(args: list[str], message: str, tmp_path: Path, capsys) -> None:
    code = _main_exit_code([*args, "--data-dir", str(tmp_path / "lake")] if args != ["frobnicate"] else args)
    err = capsys.readouterr().err
    assert code != 0
    assert message in err
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "args", [["--memory-limit", "lots"], ["--threads", "-2"], ["--select", "dim_date"], ["--domain", "weather"]]
)
def test_bad_options_stop_a_run_before_any_work(args: list[str], lake_copy: Lake) -> None:
    result = lakehouse("--data-dir", str(lake_copy.root), "run", *args)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not (lake_copy.root / "silver").exists() and not lake_copy.runs.exists()


def test_a_second_run_on_a_busy_lake_says_so(lake_copy: Lake) -> None:
    with lake_lock(lake_copy, "a test holding the lake"):
        result = lakehouse("--data-dir", str(lake_copy.root), "run")
    assert result.returncode == 3
    assert len(result.stderr.strip().splitlines()) == 1
    assert "another lakehouse command holds the lake" in result.stderr and "a test holding the lake" in result.stderr


def test_end_to_end_through_the_command(tmp_path: Path) -> None:
    """LAKEHOUSE_DATA chooses the lake; generate, run, rerun, query, select and docs all work from the shell."""
    env = {"LAKEHOUSE_DATA": str(tmp_path / "lake")}
    generated = lakehouse("generate", "meters", "--meters", "4", "--end", "2024-02-29", "--workers", "2", env=env)
    assert generated.returncode == 0, generated.stderr
    assert (tmp_path / "lake" / "bronze" / "meters" / "readings").is_dir()
    first = lakehouse("run", env=env)
    assert first.returncode == 0, first.stderr
    assert "gold gold_meters.fact_readings" in first.stderr
    again = lakehouse("run", env=env)
    assert again.returncode == 0 and "up to date" in again.stderr
    query = lakehouse("sql", "select count(*) as n from gold_meters.dim_meter", "--format", "json", env=env)
    assert json.loads(query.stdout) == [{"n": 4}]
    selected = lakehouse("run", "--select", "fact_bills+", env=env)
    assert selected.returncode == 0, selected.stderr
    rebuilt = [line.split()[1].rstrip(":") for line in selected.stderr.splitlines() if line.startswith("gold ")]
    assert sorted(rebuilt) == sorted(
        [
            "gold_meters.fact_bills",
            "gold_meters.fact_payments",
            "gold_meters.agg_consumer_type_summary",
            "gold_meters.agg_location_summary",
            "gold_meters.agg_payment_summary",
            "gold_meters.agg_bill_verification",
        ]
    )
    graph = dependencies()  # independent models build side by side: each is built after those it reads
    assert all(rebuilt.index(read) < rebuilt.index(name) for name in rebuilt for read in graph[name] if read in rebuilt)
    bad_select = lakehouse("run", "--select", "fact_nothing", env=env)
    assert bad_select.returncode == 2 and "matches no gold model" in bad_select.stderr
    bad_sql = lakehouse("sql", "select * from gold_meters.nothing", env=env)
    assert bad_sql.returncode == 2 and "Traceback" not in bad_sql.stderr
    assert bad_sql.stderr.startswith("lakehouse: error: Catalog Error: Table with name nothing does not exist!")
    docs = lakehouse("docs", env=env)
    assert docs.returncode == 0 and (tmp_path / "lake" / "docs" / "data-dictionary.md").exists()


def test_the_process_ends_with_its_output_whole_and_its_exit_code(ratings_lake: Lake) -> None:
    """The command leaves without tearing the interpreter down (pipelines.cli.entry): what it printed into a pipe
    (block-buffered, as without PYTHONUNBUFFERED) still arrives whole, and its exit code is the command's."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}

    def command(*args: str) -> subprocess.CompletedProcess:
        cli = [sys.executable, "-m", "pipelines.cli", "--data-dir", str(ratings_lake.root), *args]
        return subprocess.run(cli, capture_output=True, text=True, env=env, timeout=300)

    rows = command("sql", "select range as n from range(200000)", "--format", "csv")
    assert rows.returncode == 0, rows.stderr
    assert rows.stdout.splitlines() == ["n", *map(str, range(200_000))]
    small = command("sql", "select 42 as n", "--format", "csv")
    assert small.stdout.splitlines() == ["n", "42"]  # a few bytes, still in the stream's buffer at the end
    assert command("--help").returncode == 0
    assert command("run", "--bogus").returncode == 2


def test_leaving_at_once_still_waits_for_old_versions_to_be_deleted(tmp_path: Path) -> None:
    """Versions set for deletion in the background are gone before the process ends, even when the command leaves
    without tearing the interpreter down."""
    doomed = tmp_path / "old-version"
    (doomed / "data").mkdir(parents=True)
    script = f"""
import shutil, sys, time
from core import store
def slow_rmtree(path):
    time.sleep(0.5)
    shutil.rmtree(path)
store._deletions.append(store._deleter.submit(slow_rmtree, {str(doomed)!r}))
sys.argv = ["lakehouse", "--help"]
from pipelines.cli import entry
entry()
"""
    project = Path(__file__).resolve().parents[1]  # where `core` and `pipelines` import from
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=project)
    assert result.returncode == 0, result.stderr
    assert not doomed.exists()


def _main_exit_code(args: list[str]) -> int:
    try:
        return main(args)
    except SystemExit as exit_:
        return exit_.code


def test_a_model_failing_its_checks_exits_5_and_keeps_its_last_version(payments_lake: Lake, tmp_path: Path) -> None:
    """A silver file duplicated behind the lake's back: dim_channel's key is no longer unique."""
    lake = Lake(tmp_path / "lake")
    shutil.copytree(payments_lake.root, lake.root, symlinks=True)
    channels = lake.root / "silver" / "payments" / "channels"
    shutil.copy(next(channels.glob("*.parquet")), channels / "copied.parquet")
    published = (lake.root / "gold" / "payments" / "dim_channel").resolve()
    result = lakehouse("--data-dir", str(lake.root), "run", "--domain", "payments", "--select", "dim_channel")
    assert result.returncode == 5, result.stderr
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith("lakehouse: error: 1 gold model(s) failed: gold_payments.dim_channel")
    )
    assert (lake.root / "gold" / "payments" / "dim_channel").resolve() == published


def test_a_failed_model_skips_what_reads_it_and_the_others_are_built(payments_lake: Lake, tmp_path: Path) -> None:
    """Models are built side by side as their dependencies allow: a failure still stops exactly its descendants."""
    lake = Lake(tmp_path / "lake")
    shutil.copytree(payments_lake.root, lake.root, symlinks=True)
    channels = lake.root / "silver" / "payments" / "channels"
    shutil.copy(next(channels.glob("*.parquet")), channels / "copied.parquet")
    result = lakehouse("--data-dir", str(lake.root), "run", "--domain", "payments", "--layer", "gold", "--full-refresh")
    assert result.returncode == 5, result.stderr
    entries = json.loads(max((lake.root / "_runs").glob("*.json")).read_text())["gold"]
    graph = dependencies()
    failed = "gold_payments.dim_channel"
    below = downstream(graph, failed)
    order = [name for name in topological(graph) if name.startswith("gold_payments.")]
    assert entries[failed]["status"] == "failed" and below
    assert {entries[name]["status"] for name in below} == {"skipped"}
    others = set(order) - below - {failed}
    assert others and {entries[name]["status"] for name in others} == {"built"}

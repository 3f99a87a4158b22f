"""The crash matrix: each domain's commands killed with SIGKILL at random moments, the way a power cut or `kill -9`
stops them, and then run to the end: the lake must equal the reference lake, built without interruption.

A moment is a seeded draw within how long the command took in the reference lake, so kills land anywhere from
Python's start-up to the last rename. Kills follow one another on the same lake (each next process first recovers
from the last), and after each one every published table must read whole. The domains run two at a time: each
mostly waits for its `lakehouse` process, and the machine has two cores.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import pytest

import contracts
from core.lake import Lake
from core.store import TableStore, read_table
from generators.core import write_immutable
from tests.test_faults_lakes import (
    DOMAINS,
    LATE,
    Reference,
    assert_like,
    command,
    deliver,
    generate,
    park,
    reference,
    run,
    succeed,
)

KILLS = 4  # per command and domain: generate, silver, gold, refresh and run make 20 a domain (payments: 24)
SLOW_KILLS = 25  # 125 a domain
KILL_COUNTS = pytest.mark.parametrize(
    "kills",
    [
        KILLS,
        pytest.param(
            SLOW_KILLS,
            marks=[
                pytest.mark.slow,
                pytest.mark.skipif("'slow' not in config.getoption('markexpr')", reason="run with: pytest -m slow"),
            ],
        ),
    ],
    ids=["default", "slow"],
)


@pytest.fixture(scope="session")
def references(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Reference]:
    return dict(zip(DOMAINS, _each_domain(lambda domain: reference(tmp_path_factory, domain))))


@KILL_COUNTS
def test_generation(kills: int, references: dict[str, Reference], tmp_path: Path) -> None:
    """Generation killed midway leaves no partial file in bronze or the ledger (only hidden temporaries, which
    nothing reads), and the same command then completes them byte for byte, leaving nothing else behind."""

    def chain(domain: str) -> None:
        expected = _generated(references[domain].root / "bronze")
        root = tmp_path / domain

        def no_partial_file() -> None:
            written = _generated(root, hidden=False)
            assert {name: expected.get(name) for name in written} == written

        window = references[domain].seconds["generate"]
        _kill_at_random_moments(root, generate(domain), window, kills, no_partial_file)
        succeed(root, *generate(domain))
        assert _generated(root) == expected

    _each_domain(chain)


def test_a_rerun_of_generation_deletes_the_temporaries_of_killed_generators(tmp_path: Path) -> None:
    """A generator killed between writing a temporary and renaming it leaves `.<name>.<pid>.tmp`; the next one to
    write in that folder deletes it, and leaves a running generator's alone."""
    folder = tmp_path / "bronze" / "payments" / "cities"
    folder.mkdir(parents=True)
    gone = subprocess.Popen([sys.executable, "-c", ""])
    gone.wait()
    (folder / f".cities.csv.{gone.pid}.tmp").write_text("city_id,ci")
    (folder / f".cities.csv.{os.getppid()}.tmp").write_text("city_id,city")
    assert write_immutable(folder / "cities.csv", b"city_id,city\n")
    assert sorted(path.name for path in folder.iterdir()) == [f".cities.csv.{os.getppid()}.tmp", "cities.csv"]


@KILL_COUNTS
def test_build_and_refresh(kills: int, references: dict[str, Reference], tmp_path: Path) -> None:
    """The lake's first build killed again and again, `run --layer silver`, then (silver done) `run --layer gold`;
    then new bronze lands, and `refresh --once` cycles, then runs, are killed again and again while they take it
    in. The last run ends in the reference lake."""

    def chain(domain: str) -> None:
        ref = references[domain]
        lake = ref.copy("bronze", tmp_path / domain)
        late = park(lake.root, LATE[domain], tmp_path / f"{domain}-late")
        check, silver = _readable(lake, domain), run(domain, "--layer", "silver")
        _kill_at_random_moments(lake.root, silver, ref.seconds["silver"], kills, check)
        succeed(lake.root, *silver)
        _kill_at_random_moments(lake.root, run(domain, "--layer", "gold"), ref.seconds["gold"], kills, check)
        deliver(late, lake.root)
        refresh = ["refresh", "--once", "--domain", domain, "--threads", "2"]
        _kill_at_random_moments(lake.root, refresh, ref.seconds["run"], kills, check)
        _kill_at_random_moments(lake.root, run(domain), ref.seconds["run"], kills, check)
        succeed(lake.root, *run(domain))
        assert_like(lake, domain, ref.tables["full"])

    _each_domain(chain)


@KILL_COUNTS
def test_day_reprocessing(kills: int, references: dict[str, Reference], tmp_path: Path) -> None:
    """`run --domain payments --date D` killed again and again, then run to the end, leaves the lake as it was."""
    ref = references["payments"]
    lake = ref.copy("full", tmp_path / "payments")
    reprocess = run("payments", "--date", "2024-01-03")
    window = ref.seconds["run"]  # of a run taking in two days: a day's reprocessing takes about as long
    _kill_at_random_moments(lake.root, reprocess, window, kills, _readable(lake, "payments"))
    succeed(lake.root, *reprocess)
    assert_like(lake, "payments", ref.tables["full"])


def _each_domain(work: Callable[[str], object]) -> list[object]:
    """`work(domain)` for every domain, two at a time; a failure names its domain."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {domain: pool.submit(work, domain) for domain in DOMAINS}
    failed = {domain: future.exception() for domain, future in futures.items() if future.exception()}
    if failed:
        message = "\n".join(f"{domain}: {type(error).__name__}: {error}" for domain, error in failed.items())
        raise AssertionError(message) from next(iter(failed.values()))
    return [future.result() for future in futures.values()]


def _kill_at_random_moments(root: Path, args: list[str], window: float, kills: int, check: Callable[[], None]) -> None:
    """Start the command `kills` times; each time SIGKILL it after a random delay within `window` seconds (unless
    it ended first, successfully), then `check` the lake."""
    moments = random.Random(" ".join(args))
    for _ in range(kills):
        delay = moments.uniform(0, window)
        with tempfile.TemporaryFile("w+") as stderr:
            process = subprocess.Popen(command(root, *args), stdout=subprocess.DEVNULL, stderr=stderr, text=True)
            try:
                process.wait(timeout=delay)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            stderr.seek(0)
            assert process.returncode in (0, -signal.SIGKILL), f"{' '.join(args)}: {stderr.read()}"
        try:
            check()
        except AssertionError as error:
            raise AssertionError(f"{' '.join(args)} killed after {delay:.3f} s: {error}") from None


def _readable(lake: Lake, domain: str) -> Callable[[], None]:
    """A check that every published table of the domain reads whole: at the version its state names, with the rows
    that state counts, or (killed between the commit and the relinking) still at the version before; and that the
    catalog opens."""

    def check() -> None:
        for table in contracts.tables(domain=domain):
            state = TableStore(lake, table).state()
            link = lake.table_path(table)
            if state is None or not link.is_symlink():  # never published, or its first version not linked yet
                assert state is None or state.get("previous_version") is None, f"{link} is gone"
                continue
            version = link.resolve().parent.name
            assert version in (state["version"], state.get("previous_version")), f"{link} -> {version}"
            rows = read_table(link, table).height
            counted = state["rows"]["loaded"] if table.layer == "silver" else state["rows"]
            assert version != state["version"] or rows == counted, f"{link}: {rows} rows, its state counts {counted}"
        if lake.catalog.exists():
            duckdb.connect(str(lake.catalog), read_only=True).close()

    return check


def _generated(root: Path, hidden: bool = True) -> dict[str, bytes]:
    """What generation wrote: every file of bronze and of the ledger, by path under the root; the hidden ones (a
    writer's temporaries, which nothing reads) too, unless told otherwise."""
    return {
        str(path.relative_to(root)): path.read_bytes()
        for folder in ("bronze", "_ledger")
        for path in (root / folder).rglob("*")
        if path.is_file() and (hidden or not path.name.startswith("."))
    }

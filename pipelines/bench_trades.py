"""`make bench` for the trades domain: generate, clean, settle and build, a late file, and lookups.

Each lake stage runs as its own `lakehouse` process (wall time and peak memory of its process tree). Then one
client's year is looked up: in this process through the query layer (a warm connection, as the API holds one),
and over HTTP against `lakehouse serve` when the `api` extra is installed.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from core.lake import Lake
from pipelines.bench import domain_cli, measure, print_stages, save_report

LOOKUPS = 300
LATE_TRADES = 1_000
YEAR = (dt.date(2024, 1, 1), dt.date(2024, 12, 31))


def bench_trades(lake: Lake, scale: float, workers: int) -> dict:
    root = lake.root / "_bench"
    scratch = root / f"trades-scale-{scale:g}"
    shutil.rmtree(scratch, ignore_errors=True)
    cli = domain_cli("trades", scale, workers)
    stages = {"generate": measure(cli(scratch, "generate", "trades"))}
    stages["clean, settle and build"] = measure(cli(scratch, "run", "--domain", "trades"))
    stages["rerun (up to date)"] = measure(cli(scratch, "run", "--domain", "trades"))
    _late_file(Lake(scratch))
    stages["a late file arrives"] = measure(cli(scratch, "run", "--domain", "trades"))
    runs = [json.loads(p.read_text()) for p in sorted((scratch / "_runs").glob("*.json"))]
    for name, manifest in zip(list(stages)[1:], runs):
        stages[name]["in_process_seconds"] = manifest["durations"]["total"]
    rows = sum(f["rows"] for f in runs[0]["inputs"] if f["table"].endswith("transactions"))
    report = {
        "when": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "domain": "trades",
        "scale": scale,
        "transactions": rows,
        "workers": workers,
        "cpus": os.cpu_count(),
        "generate_and_run_seconds": round(
            stages["generate"]["seconds"] + stages["clean, settle and build"]["seconds"], 2
        ),
        "stages": stages,
        "lookup_ms": _lookups(Lake(scratch)),
        "http_ms": _http_lookups(scratch),
    }
    out = root / f"trades-{dt.datetime.now():%Y%m%dT%H%M%S}.json"
    save_report(report, out, scratch)
    _print(report, out)
    return report


def _late_file(lake: Lake) -> None:
    """A correction drop: LATE_TRADES trades of the last month's CSV filed again under new ids, so the run merges
    them into their month and re-settles their year."""
    folder = lake.bronze_dir("trades", "transactions")
    last = sorted(folder.glob("*.csv"))[-1]
    header, *lines = last.read_text().splitlines(keepends=True)[: LATE_TRADES + 1]
    # ids lead each line; "Z" is no hex digit, so these ids are new
    (folder / "late-corrections.csv").write_text(header + "".join("Z" + line[1:] for line in lines))


def _clients(lake: Lake, count: int) -> list[str]:
    from pipelines.trades_api.query import open_catalog

    con = open_catalog(lake)
    try:
        ids = [row[0] for row in con.execute("select client_id from gold_trades.clients order by client_id").fetchall()]
    finally:
        con.close()
    return random.Random(7).sample(ids, min(count, len(ids)))


def _lookups(lake: Lake) -> dict[str, float]:
    """Milliseconds to fetch one client's year through the query layer, on a connection opened once."""
    from pipelines.trades_api.query import client_transactions, open_catalog

    con = open_catalog(lake)
    try:
        client_transactions(con, _clients(lake, 1)[0], *YEAR)  # opens the files once
        times = []
        for client in _clients(lake, LOOKUPS):
            started = time.perf_counter()
            client_transactions(con, client, *YEAR).fetchall()
            times.append((time.perf_counter() - started) * 1000)
    finally:
        con.close()
    return _percentiles(times)


def _http_lookups(lake_root: Path) -> dict[str, float] | None:
    """Milliseconds per GET /transactions/<client>?start_date=&end_date= against `lakehouse serve`; None without
    the api extra."""
    import importlib.util

    if importlib.util.find_spec("starlette") is None or importlib.util.find_spec("uvicorn") is None:
        return None
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    token = "bench-token"
    command = [sys.executable, "-m", "pipelines.cli", "--data-dir", str(lake_root), "serve", "--port", str(port)]
    command += ["--rate-limit", str(100 * LOOKUPS)]
    server = subprocess.Popen(command, env={**os.environ, "LAKEHOUSE_API_TOKEN": token}, stderr=subprocess.DEVNULL)
    try:
        query = f"start_date={YEAR[0]}&end_date={YEAR[1]}"
        clients = _clients(Lake(lake_root), LOOKUPS)
        _get(port, token, f"/transactions/{clients[0]}?{query}", wait=True)
        times = []
        for client in clients:
            started = time.perf_counter()
            _get(port, token, f"/transactions/{client}?{query}")
            times.append((time.perf_counter() - started) * 1000)
    finally:
        server.terminate()
        server.wait(timeout=30)
    return _percentiles(times)


def _get(port: int, token: str, path: str, wait: bool = False) -> None:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"Bearer {token}"})
    deadline = time.monotonic() + (60 if wait else 0)
    while True:
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                response.read()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _percentiles(times: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(times, n=20)
    return {"p50": round(statistics.median(times), 2), "p95": round(cuts[18], 2), "max": round(max(times), 2)}


def _print(report: dict, path: Path) -> None:
    print(
        f"trades scale {report['scale']:g}: {report['transactions']:,} transactions, {report['workers']} workers on "
        f"{report['cpus']} CPUs"
    )
    print_stages(report["stages"], 26)
    print(f"generated, cleaned, settled and built: {report['generate_and_run_seconds']:.2f} s")
    lookups, http = report["lookup_ms"], report["http_ms"]
    print(f"one client's year: p50 {lookups['p50']} ms, p95 {lookups['p95']} ms in process", end="")
    print(f"; over HTTP p50 {http['p50']} ms, p95 {http['p95']} ms" if http else "; HTTP: needs the api extra")
    print(f"written to {path}")

"""`lakehouse bench --engine spark`: the gold stage on DuckDB and on Spark side by side, at scale 1 and 10.

For each scale, each domain gets a scratch lake whose silver and gold are built as usual (DuckDB); then gold alone is
rebuilt from that same silver, once per engine (`lakehouse run --domain D --layer gold --full-refresh --engine E`, each
its own process), and both builds must have written the same rows to every model. Local Spark on a few cores is
expected to be slower than DuckDB; what the bench shows is equal results, and whether Spark's cost grows with the data
or is mostly its start. A Spark session's start (JVM and all) is timed apart, in a process of its own.

A domain whose scale-10 round, estimated from its scale-1 round, would exceed BUDGET_SECONDS is not run at scale 10:
the output and the report say so, with the estimate. The estimate takes generating, silver and DuckDB's gold as
growing with the data, and Spark's gold as at most doubling: at scale 1 it is mostly per-model cost (ratings' few
hundred gold rows take Spark about 18 s on two cores).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from core.errors import LakehouseError
from core.lake import Lake
from pipelines.bench import domain_cli, measure, save_report
from pipelines.engine import check_engine

SCALES = (1.0, 10.0)
# meters is left out: at scale 1 its round (generate, build, both rebuilds) is payments' (~45 s), and scale 10 would
# add minutes that payments already shows; `--domain meters` runs it
DOMAINS = ("trades", "ratings", "payments", "telecom")
BUDGET_SECONDS = 180  # one domain's whole scale-10 round (generate, build, both gold rebuilds), estimated
MASTER = "local[*]"  # what `lakehouse run --engine spark` starts by default


def spark_unavailable() -> str | None:
    """Why Spark cannot run here (pyspark, sqlglot or Java missing), or None."""
    try:
        check_engine("spark", None)
    except LakehouseError as error:
        return str(error)
    return None


def bench_engines(lake: Lake, workers: int, domains: tuple[str, ...] = DOMAINS, scales=SCALES) -> dict | None:
    """Time gold on both engines for each domain and scale; print the table and keep the report as JSON."""
    missing = spark_unavailable()
    if missing:
        print(f"engine bench skipped: {missing}")
        return None
    root = lake.root / "_bench"
    root.mkdir(parents=True, exist_ok=True)
    session_start = session_start_seconds(MASTER)
    rows: list[dict] = []
    for scale in scales:
        for domain in domains:
            estimate = _estimate(rows, domain, scale)
            if estimate is not None and estimate > BUDGET_SECONDS:
                rows.append({"domain": domain, "scale": scale, "skipped": _too_long(estimate)})
                continue
            rows.append(_bench_domain(root, domain, scale, workers) | {"domain": domain, "scale": scale})
    report = {
        "when": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "workers": workers,
        "spark_master": MASTER,
        "spark_session_start_seconds": session_start,
        "budget_seconds": BUDGET_SECONDS,
        "rows": rows,
    }
    out = root / f"engines-{dt.datetime.now():%Y%m%dT%H%M%S}.json"
    save_report(report, out, root / "engines")
    _print(report, out)
    disagree = [f"{r['domain']} at scale {r['scale']:g}" for r in rows if not r.get("skipped") and not r["rows_agree"]]
    if disagree:
        raise SystemExit(f"engine bench: the engines' gold rows differ for {', '.join(disagree)} (see {out})")
    return report


def _bench_domain(root: Path, domain: str, scale: float, workers: int) -> dict:
    scratch = root / "engines" / f"{domain}-scale-{scale:g}"
    shutil.rmtree(scratch, ignore_errors=True)
    cli = domain_cli(domain, scale, workers)
    generate = measure(cli(scratch, "generate", domain))
    build = measure(cli(scratch, "run", "--domain", domain))
    result = compare(scratch, domain, cli)
    shutil.rmtree(scratch, ignore_errors=True)
    rounds = generate["seconds"] + build["seconds"] + result["duckdb"]["seconds"] + result["spark"]["seconds"]
    return result | {"generate_seconds": generate["seconds"], "build_seconds": build["seconds"], "round": rounds}


def compare(lake: Path, domain: str, cli=None) -> dict:
    """Rebuild `domain`'s gold in the built lake at `lake` from its silver, on DuckDB then on Spark; each engine's
    wall and in-process seconds, peak memory and rows per model, and whether the rows agree model by model."""
    cli = cli or domain_cli(domain, 1, 1)
    results = {}
    for engine in ("duckdb", "spark"):
        command = cli(lake, "run", "--domain", domain, "--layer", "gold", "--full-refresh", "--engine", engine)
        timing = measure(command)
        manifest = json.loads(max((lake / "_runs").glob("*.json")).read_text())
        built = {name: entry for name, entry in manifest["gold"].items() if entry.get("status") == "built"}
        results[engine] = timing | {
            "gold_seconds": manifest["durations"]["gold"],
            "models": {name: entry["rows"] for name, entry in built.items()},
            "built_by": {name: entry["engine"] for name, entry in built.items()},
        }
    duck, spark = results["duckdb"], results["spark"]
    return {
        "duckdb": duck,
        "spark": spark,
        "gold_rows": sum(duck["models"].values()),
        "spark_models": sum(1 for e in spark["built_by"].values() if e == "spark"),
        "rows_agree": bool(duck["models"]) and duck["models"] == spark["models"],
        "ratio": round(spark["gold_seconds"] / duck["gold_seconds"], 1) if duck["gold_seconds"] else None,
    }


def session_start_seconds(master: str) -> float:
    """Seconds for a fresh process to import pyspark and start a session (the JVM's start included), then stop."""
    code = (
        "import time; t = time.monotonic(); from engines.spark_engine import session; "
        f"s = session({master!r}); print(round(time.monotonic() - t, 2)); s.stop()"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(done.stdout.split()[-1])


def _estimate(rows: list[dict], domain: str, scale: float) -> float | None:
    """This domain's round at `scale`, from its smallest scale measured so far (see the module's docstring)."""
    measured = [r for r in rows if r["domain"] == domain and not r.get("skipped")]
    if not measured:
        return None
    first = measured[0]
    growing = first["generate_seconds"] + first["build_seconds"] + first["duckdb"]["seconds"]
    return growing * scale / first["scale"] + 2 * first["spark"]["seconds"]


def _too_long(estimate: float) -> str:
    return f"not run: about {estimate:.0f} s estimated (budget {BUDGET_SECONDS} s per domain)"


def _print(report: dict, path: Path) -> None:
    print(
        f"gold on DuckDB and Spark ({report['spark_master']}, {report['cpus']} CPUs): gold-stage seconds in process; "
        f"a Spark session starts in {report['spark_session_start_seconds']:.1f} s"
    )
    header = f"{'domain':<10}{'scale':>6}{'gold rows':>12}{'DuckDB s':>10}{'Spark s':>9}{'ratio':>7}"
    print(f"{header}{'Spark s less start':>20}{'Spark models':>14}{'rows agree':>12}")
    for r in report["rows"]:
        if r.get("skipped"):
            print(f"{r['domain']:<10}{r['scale']:>6g}  {r['skipped']}")
            continue
        duck, spark = r["duckdb"]["gold_seconds"], r["spark"]["gold_seconds"]
        less = spark - report["spark_session_start_seconds"]
        models = f"{r['spark_models']}/{len(r['spark']['models'])}"
        print(
            f"{r['domain']:<10}{r['scale']:>6g}{r['gold_rows']:>12,}{duck:>10.2f}{spark:>9.2f}{r['ratio']:>7.1f}"
            f"{less:>20.2f}{models:>14}{'yes' if r['rows_agree'] else 'NO':>12}"
        )
    print(f"written to {path}")

"""The payments dashboard shows what the gold tables hold: through its query layer, through Streamlit's own
app-testing API, and in a real headless Chromium."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from core.lake import Lake
from pipelines.dashboard.data import DashboardData, Filters
from pipelines.pg_server import free_port
from tests.conftest import gold

APP = Path(__file__).resolve().parents[1] / "pipelines" / "dashboard" / "app.py"
KPI_COLUMNS = ["full_date", "transactions", "total_revenue", "failure_rate", "avg_processing_time",
               "total_revenue_ma7", "failure_rate_ma7", "avg_processing_time_ma7"]  # fmt: skip


@pytest.fixture(autouse=True)
def main_module() -> Iterator[None]:
    """Streamlit's AppTest leaves the page as `__main__`, which worker processes started later (spawn) would run."""
    main = sys.modules["__main__"]
    yield
    sys.modules["__main__"] = main


@pytest.fixture(scope="module")
def data(payments_lake: Lake) -> DashboardData:
    return DashboardData(duckdb.connect(str(payments_lake.catalog), read_only=True))


def as_gold(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(KPI_COLUMNS).with_columns(pl.col("total_revenue").cast(pl.Float64)).sort("full_date")


@pytest.mark.parametrize(
    "filters, table, where",
    [
        (Filters(), "agg_daily_kpis", None),
        (Filters(channels=("UPI",)), "agg_daily_channel_kpis", ("channel_name", "UPI")),
        (Filters(segments=("SME",)), "agg_daily_segment_kpis", ("segment", "SME")),
        (Filters(cities=("Pune",)), "agg_daily_city_kpis", ("city_name", "Pune")),
        (Filters(start=dt.date(2024, 1, 4), end=dt.date(2024, 1, 8)), "agg_daily_kpis", None),
    ],
)
def test_trends_equal_the_gold_kpi_tables(data, payments_lake: Lake, filters: Filters, table: str, where) -> None:
    expected = gold(payments_lake, table, "payments")
    if where:
        expected = expected.filter(pl.col(where[0]) == where[1])
    if filters.start:
        expected = expected.filter(pl.col("full_date").is_between(filters.start, filters.end))
    assert_frame_equal(data.daily(filters).select(KPI_COLUMNS), as_gold(expected), check_exact=False, rel_tol=1e-9)


def test_kpis_with_combined_filters_equal_the_facts(data, payments_lake: Lake) -> None:
    facts = gold(payments_lake, "fact_transactions", "payments")
    cities = gold(payments_lake, "dim_city", "payments")
    channels = gold(payments_lake, "dim_channel", "payments")
    rows = (
        facts.join(cities, on="city_key")
        .join(channels, on="channel_key")
        .filter(pl.col("region").is_in(["North", "West"]), pl.col("channel_name") != "UPI")
        .filter(pl.col("transaction_date").is_between(pl.lit("2024-01-03"), pl.lit("2024-01-09")))
    )
    filters = Filters(dt.date(2024, 1, 3), dt.date(2024, 1, 9), regions=("North", "West"),
                      channels=("Credit Card", "Debit Card", "Net Banking"))  # fmt: skip
    kpis = data.kpis(filters)
    assert kpis["transactions"] == len(rows) > 0
    assert kpis["total_revenue"] == pytest.approx(float(rows.filter(pl.col("status") == "success")["revenue"].sum()))
    assert kpis["failure_rate"] == pytest.approx((rows["status"] == "failed").mean())
    assert kpis["avg_processing_time"] == pytest.approx(rows["processing_time"].mean())
    top = data.breakdown("city", 3, filters)
    assert len(top) == 3 and top["total_revenue"].is_sorted(descending=True)


def test_filters_cascade_from_region_to_state_to_city(data, payments_lake: Lake) -> None:
    cities = gold(payments_lake, "dim_city", "payments")
    north = cities.filter(pl.col("region") == "North")
    assert set(data.options("state", Filters(regions=("North",)))) <= set(north["state"])
    assert set(data.options("city", Filters(regions=("North",)))) <= set(north["city_name"])
    assert set(data.options("city", Filters(states=("Maharashtra",)))) <= {"Mumbai", "Pune", "Nagpur"}
    assert len(data.options("region")) > 1


def revenue(value: float) -> str:
    from pipelines.dashboard.app import revenue

    return revenue(value)


def expected_metrics(payments_lake: Lake, channel: str | None = None) -> list[str]:
    from pipelines.dashboard.app import rate, seconds

    facts = gold(payments_lake, "fact_transactions", "payments")
    if channel:
        key = gold(payments_lake, "dim_channel", "payments").filter(pl.col("channel_name") == channel)["channel_key"]
        facts = facts.filter(pl.col("channel_key") == key.item())
    earned = float(facts.filter(pl.col("status") == "success")["revenue"].sum())
    return [revenue(earned), rate((facts["status"] == "failed").mean()), seconds(facts["processing_time"].mean())]


def test_the_streamlit_page_shows_the_gold_numbers(payments_lake: Lake, monkeypatch) -> None:
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("LAKEHOUSE_DATA", str(payments_lake.root))
    page = AppTest.from_file(str(APP), default_timeout=60)
    page.run()
    assert not page.exception
    assert [m.value for m in page.metric] == expected_metrics(payments_lake)
    channel = next(m for m in page.sidebar.multiselect if m.label == "Channel")
    channel.select("UPI").run()
    assert [m.value for m in page.metric] == expected_metrics(payments_lake, "UPI")
    region = next(m for m in page.sidebar.multiselect if m.label == "Region")
    region.select("South").run()
    states = next(m for m in page.sidebar.multiselect if m.label == "State")
    assert set(states.options) <= {"Karnataka", "Tamil Nadu", "Telangana", "Kerala"}


MONEY = re.compile(r"₹\d{1,3}(,\d{3})*\.\d{2}")  # rupees, thousands separated, paise


def charts(page) -> list[tuple[dict, pl.DataFrame]]:
    """Every Vega-Lite chart on the page: its specification and its data."""
    import pyarrow as pa

    return [(json.loads(c.proto.spec), pl.from_arrow(pa.ipc.open_stream(c.proto.data.data).read_all()))
            for c in page.get("vega_lite_chart")]  # fmt: skip


def top_by_revenue(payments_lake: Lake, column: str, n: int = 6) -> pl.DataFrame:
    """What the gold facts say the top items by revenue are."""
    facts = gold(payments_lake, "fact_transactions", "payments")
    table = {"city_name": "dim_city", "channel_name": "dim_channel"}[column]
    earned = pl.when(pl.col("status") == "success").then(pl.col("revenue")).otherwise(0)
    return (
        facts.join(gold(payments_lake, table, "payments"), on=f"{table.removeprefix('dim_')}_key")
        .group_by(pl.col(column).alias("item"))
        .agg(pl.len().alias("transactions"), earned.sum().cast(pl.Float64).alias("total_revenue"))
        .sort("total_revenue", "item", descending=[True, False])
        .head(n)
    )


def test_charts_sort_bars_title_axes_in_words_and_show_money_in_rupees(payments_lake: Lake, monkeypatch) -> None:
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("LAKEHOUSE_DATA", str(payments_lake.root))
    page = AppTest.from_file(str(APP), default_timeout=60)
    page.run()
    drawn = charts(page)
    assert len(drawn) == 6
    trends, bars = drawn[:3], drawn[3:]
    for spec, data in drawn:
        titles = [spec["encoding"][axis]["title"] for axis in ("x", "y")]
        assert all(re.fullmatch(r"[A-Z][a-z]+( [a-z0-9-]+)*( \((₹|s)\))?", t) for t in titles), titles
        assert not set(titles) & set(data.columns)
        assert spec["config"]["locale"]["number"]["currency"] == ["₹", ""]
    assert [spec["encoding"]["y"]["title"] for spec, _ in trends] == [
        "Revenue (₹)", "Failure rate", "Avg processing time (s)"
    ]  # fmt: skip
    assert {spec["encoding"]["x"]["title"] for spec, _ in trends} == {"Date"}
    for spec, data in trends:
        colour = spec["encoding"]["color"]
        assert colour["scale"]["domain"] == ["Daily", "7-day moving average"]
        assert set(data["series"]) == set(colour["scale"]["domain"])
        assert len(set(colour["scale"]["range"])) == 2  # a series and its average never share a colour
    revenue_axis = trends[0][0]["encoding"]["y"]["axis"]["format"]
    assert revenue_axis.startswith("$,")  # the locale's currency (₹), thousands separated
    assert [(spec["encoding"]["y"]["title"], spec["encoding"]["x"]["title"]) for spec, _ in bars] == [
        ("Channel", "Failure rate"), ("Channel", "Avg processing time (s)"), ("City", "Revenue (₹)")
    ]  # fmt: skip
    for spec, data in bars:
        value = spec["encoding"]["x"]["field"]
        assert spec["encoding"]["y"]["sort"] == "-x" and data[value].is_sorted(descending=True)
    expected = top_by_revenue(payments_lake, "city_name")
    assert bars[2][1]["item"].to_list() == expected["item"].to_list()

    shown = page.table[0].value
    assert list(shown.columns) == ["City", "Transactions", "Revenue", "Failure rate", "Avg processing time"]
    assert shown["City"].tolist() == expected["item"].to_list()
    assert shown["Revenue"].tolist() == [revenue(v) for v in expected["total_revenue"]]
    assert shown["Transactions"].tolist() == [f"{n:,}" for n in expected["transactions"]]
    assert all(MONEY.fullmatch(v) for v in shown["Revenue"])

    page.selectbox[0].select("channel").run()
    channels = top_by_revenue(payments_lake, "channel_name")
    assert page.table[0].value["Channel"].tolist() == channels["item"].to_list()
    assert charts(page)[5][0]["encoding"]["y"]["title"] == "Channel"


def described(driver) -> list[dict[str, str | list[str]]]:
    """Each chart as the browser drew it, from Vega's ARIA descriptions: its axes ("titled 'Date' for a time scale
    with values from ..."), its legend and the colours of the legend's symbols."""
    script = """return [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')].map(chart => [
        [...chart.querySelectorAll('g.role-axis, g.role-legend')].map(g => g.getAttribute('aria-label') || ''),
        [...chart.querySelectorAll('.role-legend-symbol path')].map(p => p.getAttribute('stroke'))])"""
    charts = []
    for labels, colours in driver.execute_script(script):
        chart: dict[str, str | list[str]] = {"colours": colours}
        for label in filter(None, labels):
            kind, _, rest = label.partition(" titled ")
            chart["legend" if "legend" in kind else kind.removesuffix("-axis")] = rest
        charts.append(chart)
    return charts


def channel_kpis(payments_lake: Lake) -> pl.DataFrame:
    facts = gold(payments_lake, "fact_transactions", "payments")
    failure_rate = (pl.col("status") == "failed").mean().alias("failure_rate")
    seconds = pl.col("processing_time").mean().alias("avg_processing_time")
    channels = facts.join(gold(payments_lake, "dim_channel", "payments"), on="channel_key")
    return channels.group_by("channel_name").agg(failure_rate, seconds)


BROWSER = shutil.which("chromium") and shutil.which("chromedriver")


@pytest.mark.skipif(
    not BROWSER and os.environ.get("LAKEHOUSE_BROWSER_TESTS") != "required",
    reason="needs Debian's chromium and chromium-driver (.ci/run installs them)",
)
def test_the_dashboard_renders_its_kpis_in_headless_chromium(payments_lake: Lake) -> None:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    port = free_port()
    command = [sys.executable, "-m", "pipelines.cli", "--data-dir", str(payments_lake.root), "dashboard",
               "--port", str(port)]  # fmt: skip
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=os.environ.copy())
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    driver = None
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1) as response:
                    if response.read() == b"ok":
                        break
            except OSError:
                assert server.poll() is None, server.stderr.read().decode()
                assert time.monotonic() < deadline, "the dashboard did not start"
                time.sleep(0.2)
        driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
        driver.get(f"http://127.0.0.1:{port}/")
        metric = '[data-testid="stMetricValue"]'
        WebDriverWait(driver, 60).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, metric)) == 3)
        assert [e.text for e in driver.find_elements(By.CSS_SELECTOR, metric)] == expected_metrics(payments_lake)
        assert "Payments analytics" in driver.page_source
        rows = '[data-testid="stTable"] tbody tr'
        WebDriverWait(driver, 60).until(
            lambda d: (
                [len(c) for c in described(d)] == [4, 4, 4, 3, 3, 3] and len(d.find_elements(By.CSS_SELECTOR, rows))
            )
        )
        drawn = described(driver)
        for chart, title in zip(drawn[:3], ("Revenue (₹)", "Failure rate", "Avg processing time (s)")):
            assert chart["X"].startswith("'Date' for a time scale") and chart["Y"].startswith(f"'{title}'")
            assert chart["legend"].endswith("with 2 values: Daily, 7-day moving average")
            assert len(set(chart["colours"])) == 2
        assert re.fullmatch(r"'Revenue \(₹\)' for a linear scale with values from ₹0 to ₹[\d,]+", drawn[5]["X"])
        by_channel = channel_kpis(payments_lake)
        for chart, column in zip(drawn[3:5], ("failure_rate", "avg_processing_time")):
            order = by_channel.sort(column, descending=True)["channel_name"].to_list()
            assert chart["Y"] == f"'Channel' for a discrete scale with 4 values: {', '.join(order)}"
        top = top_by_revenue(payments_lake, "city_name")
        assert drawn[5]["Y"] == f"'City' for a discrete scale with 6 values: {', '.join(top['item'])}"
        table = [[cell.text for cell in row.find_elements(By.TAG_NAME, "td")]
                 for row in driver.find_elements(By.CSS_SELECTOR, rows)]  # fmt: skip
        assert [row[0] for row in table] == top["item"].to_list()
        assert [row[2] for row in table] == [revenue(v) for v in top["total_revenue"]]
    finally:
        if driver:
            driver.quit()
        server.terminate()
        server.wait(timeout=10)

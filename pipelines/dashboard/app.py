"""The payments dashboard, a Streamlit page over the gold tables: `lakehouse dashboard` or `make dashboard`.

KPIs, cascading filters (region > state > city, channel, segment, dates), trends with 7-day moving averages, a
comparison of channels and the top items of a chosen dimension. Queries are cached for REFRESH_SECONDS and the
page refreshes itself as often, so a dashboard left open follows the lake.
"""

from __future__ import annotations

import duckdb
import polars as pl
import streamlit as st

from pipelines.dashboard.data import DashboardData, Filters
from pipelines.lake import Lake

REFRESH_SECONDS = 600


def revenue(value: float) -> str:
    return f"₹{value:,.2f}"


def rate(value: float) -> str:
    return f"{value:.2%}"


def seconds(value: float) -> str:
    return f"{value:.2f} s"


@st.cache_resource
def connect(catalog: str) -> DashboardData:
    return DashboardData(duckdb.connect(catalog, read_only=True))


@st.cache_data(ttl=REFRESH_SECONDS, show_spinner=False)
def ask(catalog: str, question: str, filters: Filters, *args: object) -> object:
    """A cached answer: `question` is a DashboardData method, called with `args` and then the filters."""
    return getattr(connect(catalog), question)(*args, filters)


def sidebar(catalog: str) -> Filters:
    data = connect(catalog)
    first, last = data.bounds()
    st.sidebar.header("Filters")
    dates = st.sidebar.date_input("Dates", (first, last), min_value=first, max_value=last)
    start, end = (dates[0], dates[-1]) if isinstance(dates, tuple | list) and dates else (first, last)
    regions = tuple(st.sidebar.multiselect("Region", data.options("region")))
    states = tuple(st.sidebar.multiselect("State", data.options("state", Filters(regions=regions))))
    cities = tuple(st.sidebar.multiselect("City", data.options("city", Filters(regions=regions, states=states))))
    channels = tuple(st.sidebar.multiselect("Channel", data.options("channel")))
    segments = tuple(st.sidebar.multiselect("Customer segment", data.options("segment")))
    return Filters(start, end, regions, states, cities, channels, segments)


@st.fragment(run_every=REFRESH_SECONDS)
def page(catalog: str, filters: Filters) -> None:
    kpis = ask(catalog, "kpis", filters)
    if not kpis["transactions"]:
        st.info("No transactions match these filters.")
        return
    left, middle, right = st.columns(3)
    left.metric("Total revenue", revenue(kpis["total_revenue"]), help="Fees earned on successful transactions")
    middle.metric("Failure rate", rate(kpis["failure_rate"]))
    right.metric("Avg processing time", seconds(kpis["avg_processing_time"]))

    daily = ask(catalog, "daily", filters)
    st.subheader("Trends, with 7-day moving averages")
    for column, title in (("total_revenue", "Revenue"), ("failure_rate", "Failure rate"),
                          ("avg_processing_time", "Avg processing time (s)")):  # fmt: skip
        st.caption(title)
        st.line_chart(daily, x="full_date", y=[column, f"{column}_ma7"], height=220)

    st.subheader("Channels compared")
    channels = ask(catalog, "breakdown", filters, "channel", None)
    one, two = st.columns(2)
    one.bar_chart(channels, x="item", y="failure_rate", height=240)
    two.bar_chart(channels, x="item", y="avg_processing_time", height=240)

    st.subheader("Top items")
    dimension = st.selectbox("By", ["city", "state", "region", "channel", "segment"])
    top = ask(catalog, "breakdown", filters, dimension, 6)
    st.bar_chart(top, x="item", y="total_revenue", height=240)
    st.dataframe(top.with_columns(pl.col("failure_rate").round(4), pl.col("avg_processing_time").round(3)))


def main() -> None:
    st.set_page_config(page_title="Payments analytics", layout="wide")
    lake = Lake.locate()  # LAKEHOUSE_DATA, which `lakehouse dashboard --data-dir` sets, or ./data
    st.title("Payments analytics")
    if not lake.catalog.exists():
        st.error(f"No lake at {lake.root}: run `lakehouse generate payments` and `lakehouse run` first.")
        return
    catalog = str(lake.catalog)
    page(catalog, sidebar(catalog))


main()

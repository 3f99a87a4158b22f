"""The payments dashboard, a Streamlit page over the gold tables: `lakehouse dashboard` or `make dashboard`.

KPIs, cascading filters (region > state > city, channel, segment, dates), trends with 7-day moving averages, a
comparison of channels and the top items of a chosen dimension. Queries are cached for REFRESH_SECONDS and the
page refreshes itself as often, so a dashboard left open follows the lake.

Charts are Vega-Lite specifications: bars sorted by value, axes titled in words, money in rupees with thousands
separators, and a series and its moving average in colours apart in both hue and lightness.
"""

from __future__ import annotations

import duckdb
import polars as pl
import streamlit as st

from core.lake import Lake
from pipelines.dashboard.data import DashboardData, Filters

REFRESH_SECONDS = 600
SERIES, AVERAGE = "#4c78a8", "#f58518"  # a daily series (blue) and its moving average (orange)
DAILY, MA7 = "Daily", "7-day moving average"
# d3 formats: "$" is the locale's currency, here the rupee, as in the KPIs (₹1,234.56)
LOCALE = {"number": {"decimal": ".", "thousands": ",", "grouping": [3], "currency": ["₹", ""]}}
MEASURES = {  # column: (what it is, axis title, d3 format on the axis, in a tooltip)
    "total_revenue": ("Revenue", "Revenue (₹)", "$,.0f", "$,.2f"),
    "failure_rate": ("Failure rate", "Failure rate", ".0%", ".2%"),
    "avg_processing_time": ("Avg processing time", "Avg processing time (s)", ",.1f", ",.2f"),
}
DIMENSIONS = {"city": "City", "state": "State", "region": "Region", "channel": "Channel", "segment": "Customer segment"}


def revenue(value: float) -> str:
    return f"₹{value:,.2f}"


def rate(value: float) -> str:
    return f"{value:.2%}"


def seconds(value: float) -> str:
    return f"{value:.2f} s"


def count(value: int) -> str:
    return f"{value:,}"


@st.cache_resource(ttl=REFRESH_SECONDS, show_spinner=False)
def connect(catalog: str) -> DashboardData:
    return DashboardData(duckdb.connect(catalog, read_only=True))


@st.cache_data(ttl=REFRESH_SECONDS, show_spinner=False)
def ask(catalog: str, question: str, filters: Filters, *args: object) -> object:
    """A cached answer: `question` is a DashboardData method, called with `args` and then the filters."""
    return getattr(connect(catalog), question)(*args, filters)


def trend(daily: pl.DataFrame, column: str) -> dict:
    """A daily series and its 7-day moving average, over dates."""
    name, title, axis, number = MEASURES[column]
    series = {column: DAILY, f"{column}_ma7": MA7}
    data = daily.unpivot(list(series), index="full_date", variable_name="series").with_columns(
        pl.col("series").replace_strict(series)
    )
    return {
        "data": data,
        "mark": {"type": "line", "interpolate": "monotone"},
        "encoding": {
            "x": {"field": "full_date", "type": "temporal", "title": "Date"},
            "y": {"field": "value", "type": "quantitative", "title": title, "axis": {"format": axis},
                  "scale": {"zero": False}},
            "color": {"field": "series", "type": "nominal", "title": None, "legend": {"orient": "top"},
                      "scale": {"domain": [DAILY, MA7], "range": [SERIES, AVERAGE]}},
            "strokeWidth": {"field": "series", "type": "nominal", "legend": None,
                            "scale": {"domain": [DAILY, MA7], "range": [1.2, 2.8]}},
            "tooltip": [{"field": "full_date", "type": "temporal", "title": "Date", "format": "%a %d %b %Y"},
                        {"field": "series", "title": "Series"},
                        {"field": "value", "type": "quantitative", "title": name, "format": number}],
        },
    }  # fmt: skip


def bars(frame: pl.DataFrame, column: str, dimension: str) -> dict:
    """One bar per item, longest first."""
    name, title, axis, number = MEASURES[column]
    return {
        "data": frame.select("item", column).sort(column, "item", descending=[True, False]),
        "mark": {"type": "bar", "color": SERIES},
        "encoding": {
            "y": {"field": "item", "type": "nominal", "title": DIMENSIONS[dimension], "sort": "-x"},
            "x": {"field": column, "type": "quantitative", "title": title, "axis": {"format": axis}},
            "tooltip": [{"field": "item", "title": DIMENSIONS[dimension]},
                        {"field": column, "type": "quantitative", "title": name, "format": number}],
        },
    }  # fmt: skip


def chart(spec: dict, height: int) -> None:
    data = spec.pop("data")
    st.vega_lite_chart(data, {**spec, "config": {"locale": LOCALE}}, width="stretch", height=height)


def table(frame: pl.DataFrame, dimension: str) -> pl.DataFrame:
    """The top items as shown: named columns, money in rupees, counts with thousands separators."""
    shown = {"item": (DIMENSIONS[dimension], str), "transactions": ("Transactions", count),
             "total_revenue": ("Revenue", revenue), "failure_rate": ("Failure rate", rate),
             "avg_processing_time": ("Avg processing time", seconds)}  # fmt: skip
    return pl.DataFrame({label: [show(v) for v in frame[column]] for column, (label, show) in shown.items()})


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
    for column in ("total_revenue", "failure_rate", "avg_processing_time"):
        chart(trend(daily, column), 250)

    st.subheader("Channels compared")
    channels = ask(catalog, "breakdown", filters, "channel", None)
    one, two = st.columns(2)
    with one:
        chart(bars(channels, "failure_rate", "channel"), 160)
    with two:
        chart(bars(channels, "avg_processing_time", "channel"), 160)

    st.subheader("Top items by revenue")
    dimension = st.selectbox("By", list(DIMENSIONS), format_func=DIMENSIONS.get)
    top = ask(catalog, "breakdown", filters, dimension, 6)
    chart(bars(top, "total_revenue", dimension), 220)
    st.table(table(top, dimension), hide_index=True)


def main() -> None:
    st.set_page_config(page_title="Payments analytics", layout="wide")
    lake = Lake.locate()  # LAKEHOUSE_DATA, which `lakehouse dashboard --data-dir` sets, or ./data
    st.title("Payments analytics")
    if not lake.catalog.exists():
        st.error(f"No lake at {lake.root}: run `lakehouse generate payments` and `lakehouse run` first.")
        return
    catalog = str(lake.catalog)
    page(catalog, sidebar(catalog))


if __name__ == "__main__":  # as Streamlit runs the page; importing it (for its formats) draws nothing
    main()

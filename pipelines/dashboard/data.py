"""What the payments dashboard shows, as DuckDB queries over the gold star schema.

Every number uses the definitions of the gold KPI tables (`gold/macros/payments.sql`): revenue of successful
transactions, failed / all, mean processing seconds, and 7-day moving averages over the 7 calendar days ending on
each day. Filters apply to the facts through their dimensions, so any combination of region, state, city,
channel and segment works; moving averages are computed before the date range is applied, so the first day of
a range averages the days before it, as the gold tables do.

The facts are read once, into `cube`: one row per day, city, channel and customer segment (every combination
the filters can tell apart) with the sums the KPIs are made of. Its size grows with days, not with transactions,
and every question is then asked of it, so a page costs one pass over the facts however it is filtered.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field

import duckdb
import polars as pl

DIMENSIONS = ("region", "state", "city", "channel", "segment")

CUBE = """
    create or replace temp table cube as
    select cast(f.transaction_date as date) as full_date, y.region, y.state, y.city_name as city,
        c.channel_name as channel, u.segment,
        count(*) as transactions,
        count(*) filter (where f.status = 'failed') as failed,
        coalesce(sum(f.revenue) filter (where f.status = 'success'), 0) as revenue,
        sum(f.processing_time) as seconds
    from gold_payments.fact_transactions f
    join gold_payments.dim_channel c using (channel_key)
    join gold_payments.dim_customer u using (customer_key)
    join gold_payments.dim_city y using (city_key)
    group by all
"""


@dataclass(frozen=True)
class Filters:
    start: dt.date | None = None
    end: dt.date | None = None
    regions: tuple[str, ...] = ()
    states: tuple[str, ...] = ()
    cities: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    segments: tuple[str, ...] = ()
    by: dict[str, tuple[str, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        chosen = {"region": self.regions, "state": self.states, "city": self.cities, "channel": self.channels,
                  "segment": self.segments}  # fmt: skip
        object.__setattr__(self, "by", chosen)

    def where(self) -> tuple[str, list]:
        """A SQL condition on the cube (without dates) and its parameters."""
        clauses, parameters = ["true"], []
        for name, values in self.by.items():
            if values:
                clauses.append(f"{name} in ({', '.join('?' * len(values))})")
                parameters += list(values)
        return " and ".join(clauses), parameters


class DashboardData:
    """The dashboard's questions over one connection; a new instance reads the lake again."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con
        self._lock = threading.Lock()  # Streamlit sessions run in threads; a connection runs one query at a time
        self._rows(CUBE)

    def _rows(self, sql: str, parameters: list | None = None) -> list[tuple]:
        with self._lock:
            return self.con.execute(sql, parameters or []).fetchall()

    def _frame(self, sql: str, parameters: list) -> pl.DataFrame:
        with self._lock:
            return self.con.sql(sql, params=parameters).pl()

    def bounds(self) -> tuple[dt.date, dt.date]:
        return self._rows("select min(full_date), max(full_date) from gold_payments.dim_date")[0]

    def options(self, column: str, filters: Filters = Filters()) -> list[str]:
        """Values of a dimension that the other, broader filters allow (for cascading region > state > city)."""
        narrower = {"region": (), "state": ("region",), "city": ("region", "state")}.get(column, ())
        scoped = Filters(**{f"{n}s": filters.by[n] for n in narrower})
        condition, parameters = scoped.where()
        sql = f"select distinct {column} as v from cube where {condition} order by v"
        return [v for (v,) in self._rows(sql, parameters)]

    def daily(self, filters: Filters) -> pl.DataFrame:
        """One row per day in the range: the KPIs and their 7-day moving averages."""
        condition, parameters = filters.where()
        sql = f"""
            with daily as (
                select full_date, cast(sum(transactions) as bigint) as transactions, sum(revenue) as total_revenue,
                    sum(failed) as failed, sum(seconds) as seconds
                from cube
                where {condition}
                group by all
            )
            select full_date, transactions, cast(total_revenue as double) as total_revenue,
                failed / transactions as failure_rate, seconds / transactions as avg_processing_time,
                avg(cast(total_revenue as double)) over w as total_revenue_ma7,
                sum(failed) over w / sum(transactions) over w as failure_rate_ma7,
                sum(seconds) over w / sum(transactions) over w as avg_processing_time_ma7
            from daily
            window w as (order by full_date range between interval 6 days preceding and current row)
            qualify full_date between coalesce(?, full_date) and coalesce(?, full_date)
            order by full_date
        """
        return self._frame(sql, [*parameters, filters.start, filters.end])

    def kpis(self, filters: Filters) -> dict[str, float]:
        """Total revenue of successful transactions, failure rate and mean processing time over the range."""
        return self._summary("", filters).row(0, named=True)

    def breakdown(self, dimension: str, limit: int | None, filters: Filters) -> pl.DataFrame:
        """The KPIs by one dimension (channel comparison, top items by revenue), by revenue."""
        return self._summary(dimension, filters, limit)

    def _summary(self, dimension: str, filters: Filters, limit: int | None = None) -> pl.DataFrame:
        condition, parameters = filters.where()
        item = f"{dimension} as item," if dimension else ""
        sql = f"""
            select {item} cast(coalesce(sum(transactions), 0) as bigint) as transactions,
                cast(coalesce(sum(revenue), 0) as double) as total_revenue,
                sum(failed) / sum(transactions) as failure_rate,
                sum(seconds) / sum(transactions) as avg_processing_time
            from cube
            where {condition} and full_date between coalesce(?, date '0001-01-01') and coalesce(?, date '9999-12-31')
            {"group by all order by total_revenue desc, item" if dimension else ""}
            {f"limit {int(limit)}" if limit else ""}
        """
        return self._frame(sql, [*parameters, filters.start, filters.end])

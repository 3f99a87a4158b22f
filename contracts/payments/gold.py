"""Payments: the star schema of the seed's warehouse and the daily KPIs its dashboard shows."""

from contracts.calendar import DATE_DIMENSION
from contracts.payments.silver import AMOUNT, CHANNELS, DELAY_BUCKETS, FEE, REGIONS, REVENUE, SEGMENTS, STATUSES
from contracts.schema import DATE, FLOAT, INT, STRING, Audit, Check, Column, ForeignKey, Partition, Table, decimal

TOTAL = decimal(18, 2)
TOTAL_REVENUE = decimal(24, 6)


def _gold(name: str, description: str, columns: list[Column], key: tuple[str, ...], **kw) -> Table:
    return Table("gold", "payments", name, description, tuple(columns), key, **kw)


def _fk(column: str, table: str) -> ForeignKey:
    return ForeignKey((column,), table, (column,))


dim_date = _gold(
    "dim_date",
    "One calendar day from the first to the last transaction.",
    list(DATE_DIMENSION),
    key=("date_key",),
)

dim_channel = _gold(
    "dim_channel",
    "One payment channel and its fee.",
    [
        Column("channel_key", INT, "Stable channel number."),
        Column("channel_name", STRING, "Channel.", allowed=CHANNELS),
        Column("fee_percent", FEE, "Fee, percent.", min=0, max=100),
    ],
    key=("channel_key",),
)

dim_customer = _gold(
    "dim_customer",
    "One customer.",
    [
        Column("customer_key", INT, "The number in the customer id (C00042 -> 42)."),
        Column("customer_id", STRING, "Customer id."),
        Column("customer_name", STRING, "Name."),
        Column("segment", STRING, "Segment.", allowed=SEGMENTS),
    ],
    key=("customer_key",),
)

dim_city = _gold(
    "dim_city",
    "One city.",
    [
        Column("city_key", INT, "Stable city number."),
        Column("city_name", STRING, "City."),
        Column("state", STRING, "State."),
        Column("region", STRING, "Region.", allowed=REGIONS),
    ],
    key=("city_key",),
)

fact_transactions = _gold(
    "fact_transactions",
    "One transaction with its keys, outcome, processing time and revenue.",
    [
        Column("transaction_id", STRING, "Transaction id."),
        Column("date_key", INT, "Day of the transaction."),
        Column("customer_key", INT, "Customer."),
        Column("channel_key", INT, "Channel."),
        Column("city_key", INT, "City."),
        Column("amount", AMOUNT, "Amount.", min=0.01),
        Column("status", STRING, "Outcome.", allowed=STATUSES),
        Column("processing_time", FLOAT, "Seconds.", min=0),
        Column("processing_delay_bucket", STRING, "fast, medium or slow.", allowed=DELAY_BUCKETS),
        Column("revenue", REVENUE, "amount x fee_percent / 100."),
        Column("transaction_date", STRING, "YYYY-MM-DD, the partition."),
    ],
    key=("transaction_id",),
    foreign_keys=(
        _fk("date_key", "dim_date"),
        _fk("customer_key", "dim_customer"),
        _fk("channel_key", "dim_channel"),
        _fk("city_key", "dim_city"),
    ),
    partition=Partition("transaction_date", "transaction_date", "%Y-%m-%d"),
)

_KPIS = [
    Column("transactions", INT, "Transactions.", min=1),
    Column("total_revenue", TOTAL_REVENUE, "Revenue of successful transactions.", min=0),
    Column("failure_rate", FLOAT, "Failed / all transactions.", min=0, max=1),
    Column("avg_processing_time", FLOAT, "Mean seconds.", min=0),
    Column("total_revenue_ma7", FLOAT, "Mean daily total_revenue over this day and the 6 before.", min=0),
    Column("failure_rate_ma7", FLOAT, "Failed / all over this day and the 6 before.", min=0, max=1),
    Column("avg_processing_time_ma7", FLOAT, "Mean seconds over this day and the 6 before.", min=0),
]
_MA_NOTE = " Moving averages cover the 7 calendar days ending on the row's day (days with transactions)."


agg_kpis_by_grain = _gold(
    "agg_kpis_by_grain",
    "One day overall (grain 'day'), or one day and one channel, customer segment or city: the KPIs of every "
    "grain in one pass, which the four agg_daily_*kpis tables select from." + _MA_NOTE,
    [
        Column("full_date", DATE, "Day."),
        Column("grain", STRING, "What the row is broken down by.", allowed=("day", "channel", "segment", "city")),
        Column("item", STRING, "The channel name, segment or city_key; 'all' for grain 'day'."),
        *_KPIS,
    ],
    key=("full_date", "grain", "item"),
    audits=(
        Audit(
            "revenue_adds_up",
            "select 1 from (select grain, sum(total_revenue) r from gold_payments.agg_kpis_by_grain group by grain) k, "
            "(select coalesce(sum(revenue), 0) r from gold_payments.fact_transactions where status = 'success') "
            "f where k.r <> f.r",
            "The revenue of every grain equals the revenue of successful facts.",
        ),
    ),
)


def _kpis(name: str, by: list[Column], grain: str) -> Table:
    dimensions = [c.name for c in by]
    return _gold(
        name,
        f"One day{' and ' + grain if grain != 'day' else ''}: the dashboard's KPIs and their 7-day moving averages."
        + _MA_NOTE,
        [Column("full_date", DATE, "Day."), *by, *_KPIS],
        key=("full_date", *dimensions),
        checks=(Check("rates_in_range", "failure_rate_ma7 between 0 and 1", "Rates are fractions."),),
        audits=(
            Audit(
                "revenue_adds_up",
                f"select 1 from (select coalesce(sum(total_revenue), 0) r from gold_payments.{name}) k, "
                "(select coalesce(sum(total_revenue), 0) r from gold_payments.agg_kpis_by_grain "
                f"where grain = '{grain}') f where k.r <> f.r",
                "KPI revenue equals the revenue of its grain in agg_kpis_by_grain, itself audited against the "
                "successful facts.",
            ),
        ),
    )


agg_daily_kpis = _kpis("agg_daily_kpis", [], "day")
agg_daily_channel_kpis = _kpis(
    "agg_daily_channel_kpis", [Column("channel_name", STRING, "Channel.", allowed=CHANNELS)], "channel"
)
agg_daily_city_kpis = _kpis(
    "agg_daily_city_kpis",
    [
        Column("city_name", STRING, "City."),
        Column("state", STRING, "State."),
        Column("region", STRING, "Region.", allowed=REGIONS),
    ],
    "city",
)
agg_daily_segment_kpis = _kpis(
    "agg_daily_segment_kpis", [Column("segment", STRING, "Segment.", allowed=SEGMENTS)], "segment"
)

TABLES = (
    dim_date,
    dim_channel,
    dim_customer,
    dim_city,
    fact_transactions,
    agg_kpis_by_grain,
    agg_daily_kpis,
    agg_daily_channel_kpis,
    agg_daily_city_kpis,
    agg_daily_segment_kpis,
)

"""Smart-meter billing: gold aggregates and bill verification.

Each table here is built by `gold/meters/<name>.sql` and checked like every gold table; audits tie each
aggregate's totals back to its fact table.
"""

from contracts.meters.gold import AMOUNT, KWH, TOTAL_KWH, fk, gold_table
from contracts.meters.silver import DISTRICTS, MONEY
from contracts.schema import DATE, FLOAT, INT, STRING, Audit, Column, Partition


def _total_matches(name: str, agg_sql: str, fact_sql: str) -> Audit:
    """An aggregate's grand total must equal the same total computed from its fact table."""
    return Audit(
        name,
        f"select * from (select coalesce(({agg_sql}), 0) as aggregate, coalesce(({fact_sql}), 0) as fact) "
        "where aggregate <> fact",
        "The aggregate's total equals the fact table's total.",
    )


def _kwh_matches(aggregate: str) -> Audit:
    return _total_matches(
        "total_kwh_matches_fact",
        f"select sum(total_kwh) from gold_meters.{aggregate}",
        "select sum(kwh) from gold_meters.fact_readings",
    )


# The measures of consumption aggregates, by meter and day or month.
_CONSUMPTION = [
    Column("readings", INT, "Readings accepted.", min=1),
    Column("total_kwh", TOTAL_KWH, "Energy, kWh.", min=0),
    Column("peak_kwh", TOTAL_KWH, "Energy in the 18:00-22:00 peak, kWh.", min=0),
    Column("max_kwh", KWH, "Largest single reading, kWh.", min=0),
    Column("avg_voltage", FLOAT, "Mean voltage, V."),
    Column("min_voltage", FLOAT, "Lowest voltage, V."),
    Column("anomaly_readings", INT, "Readings with an anomaly_reason.", min=0),
]

agg_daily_consumption = gold_table(
    "agg_daily_consumption",
    "One meter on one day.",
    [
        Column("meter_id", STRING, "Meter."),
        Column("date_key", INT, "Day (date_key)."),
        Column("day", DATE, "Day."),
        *_CONSUMPTION,
        Column("month", STRING, "YYYY-MM, the partition."),
    ],
    key=("meter_id", "date_key"),
    foreign_keys=(fk("meter_id", "dim_meter"), fk("date_key", "dim_date")),
    partition=Partition("month", "day"),
    audits=(_kwh_matches("agg_daily_consumption"),),
)

agg_monthly_consumption = gold_table(
    "agg_monthly_consumption",
    "One meter in one month.",
    [
        Column("meter_id", STRING, "Meter."),
        Column("month", STRING, "YYYY-MM."),
        *_CONSUMPTION,
    ],
    key=("meter_id", "month"),
    foreign_keys=(fk("meter_id", "dim_meter"),),
    audits=(_kwh_matches("agg_monthly_consumption"),),
)

_BILLING_TOTALS = [
    Column("bills", INT, "Bills issued.", min=0),
    Column("billed_amount", AMOUNT, "Sum of bill totals, PKR.", min=0),
    Column("collected_amount", AMOUNT, "Sum of payments against those bills, PKR.", min=0),
    Column("outstanding_amount", AMOUNT, "Sum still unpaid, PKR.", min=0),
    Column("collection_rate", FLOAT, "collected / billed; empty when nothing was billed.", nullable=True, min=0),
]

agg_consumer_type_summary = gold_table(
    "agg_consumer_type_summary",
    "One consumer type: its meters, consumption and billing.",
    [
        Column("consumer_type_code", STRING, "Consumer type."),
        Column("category", STRING, "Consumer category."),
        Column("tariff_code", STRING, "Tariff schedule."),
        Column("meters", INT, "Meters of this type.", min=0),
        Column("total_kwh", TOTAL_KWH, "Energy of all readings, kWh.", min=0),
        Column("avg_monthly_kwh_per_meter", FLOAT, "Mean energy of a meter-month, kWh.", nullable=True, min=0),
        *_BILLING_TOTALS,
    ],
    key=("consumer_type_code",),
    foreign_keys=(fk("consumer_type_code", "dim_consumer_type"),),
    audits=(
        _total_matches(
            "billed_matches_fact",
            "select sum(billed_amount) from gold_meters.agg_consumer_type_summary",
            "select sum(total_amount) from gold_meters.fact_bills",
        ),
        _kwh_matches("agg_consumer_type_summary"),
    ),
)

agg_location_summary = gold_table(
    "agg_location_summary",
    "One division: its meters, consumption, anomalies and billing.",
    [
        Column("location_key", STRING, "Division."),
        Column("district", STRING, "District.", allowed=DISTRICTS),
        Column("division", STRING, "Division name."),
        Column("meters", INT, "Meters in the division.", min=0),
        Column("total_kwh", TOTAL_KWH, "Energy of all readings, kWh.", min=0),
        Column("anomaly_readings", INT, "Readings with an anomaly_reason.", min=0),
        *_BILLING_TOTALS,
    ],
    key=("location_key",),
    foreign_keys=(fk("location_key", "dim_location"),),
    audits=(
        _total_matches(
            "billed_matches_fact",
            "select sum(billed_amount) from gold_meters.agg_location_summary",
            "select sum(total_amount) from gold_meters.fact_bills",
        ),
    ),
)

agg_payment_summary = gold_table(
    "agg_payment_summary",
    "One billing month: what was billed, collected and how bills were paid.",
    [
        Column("billing_month", DATE, "First day of the month billed."),
        *_BILLING_TOTALS,
        Column("paid_on_time", INT, "Bills paid in full by the due date.", min=0),
        Column("paid_late", INT, "Bills paid in full after the due date.", min=0),
        Column("partial", INT, "Bills paid in part.", min=0),
        Column("unpaid", INT, "Bills with no payment.", min=0),
        Column("avg_days_late", FLOAT, "Mean days late of bills paid late.", nullable=True, min=0),
    ],
    key=("billing_month",),
    audits=(
        _total_matches(
            "collected_matches_fact",
            "select sum(collected_amount) from gold_meters.agg_payment_summary",
            "select sum(amount_paid) from gold_meters.fact_bills",
        ),
    ),
)

agg_bill_verification = gold_table(
    "agg_bill_verification",
    "One bill recomputed from the readings in the lake and the tariff; status mismatch flags a difference.",
    [
        Column("bill_id", STRING, "Bill verified."),
        Column("meter_id", STRING, "Meter billed."),
        Column("billing_month", DATE, "Month billed."),
        Column("tariff_code", STRING, "Tariff applied."),
        Column("readings", INT, "Readings of the meter in the month.", min=0),
        Column("units_billed", INT, "Units on the bill."),
        Column("units_recomputed", INT, "Units from the readings (sum of kWh, rounded)."),
        Column("amount_billed", MONEY, "Total on the bill, PKR."),
        Column("amount_recomputed", MONEY, "Total recomputed from units and tariff, PKR."),
        Column("amount_difference", MONEY, "amount_billed - amount_recomputed, PKR."),
        Column("status", STRING, "match or mismatch.", allowed=("match", "mismatch")),
    ],
    key=("bill_id",),
    foreign_keys=(fk("bill_id", "fact_bills"), fk("meter_id", "dim_meter")),
)

TABLES = (
    agg_daily_consumption,
    agg_monthly_consumption,
    agg_consumer_type_summary,
    agg_location_summary,
    agg_payment_summary,
    agg_bill_verification,
)

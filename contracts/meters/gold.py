"""Smart-meter billing: the gold star schema, aggregates and bill verification.

Each table here is built by `gold/meters/<name>.sql`; after a build its columns, types, key, foreign keys, ranges
and audits are checked before the new version is published.
"""

from contracts.meters.silver import ANOMALIES, DISTRICTS, MONEY, PAYMENT_METHODS, RATE
from contracts.schema import (
    BOOL,
    DATE,
    FLOAT,
    INT,
    STRING,
    TIMESTAMP,
    Audit,
    Column,
    ForeignKey,
    Partition,
    Table,
    decimal,
)

KWH = decimal(12, 3)
TOTAL_KWH = decimal(18, 3)
AMOUNT = decimal(18, 2)
PAYMENT_STATUSES = ("paid_on_time", "paid_late", "partial", "unpaid")


def _gold(name: str, description: str, columns: list[Column], key: tuple[str, ...], **kw) -> Table:
    return Table("gold", "meters", name, description, tuple(columns), key, **kw)


def _fk(column: str, table: str, to: str | None = None) -> ForeignKey:
    return ForeignKey((column,), table, (to or column,))


def _total_matches(name: str, agg_sql: str, fact_sql: str) -> Audit:
    """An aggregate's grand total must equal the same total computed from its fact table."""
    return Audit(
        name,
        f"select * from (select coalesce(({agg_sql}), 0) as aggregate, coalesce(({fact_sql}), 0) as fact) "
        "where aggregate <> fact",
        "The aggregate's total equals the fact table's total.",
    )


dim_location = _gold(
    "dim_location",
    "One operation division (location) of IESCO.",
    [
        Column("location_key", STRING, "Division code."),
        Column("division", STRING, "Division name."),
        Column("district", STRING, "District.", allowed=DISTRICTS),
    ],
    key=("location_key",),
)

dim_consumer_type = _gold(
    "dim_consumer_type",
    "One consumer type with the tariff it is billed under.",
    [
        Column("consumer_type_code", STRING, "Consumer type code."),
        Column("description", STRING, "What kind of connection this is."),
        Column("category", STRING, "Broad category."),
        Column("tariff_code", STRING, "Tariff schedule."),
        Column("tariff_description", STRING, "What the tariff covers."),
        Column("fixed_charge", MONEY, "Fixed charge per bill, PKR.", min=0),
        Column("tv_fee", MONEY, "PTV fee per bill, PKR.", min=0),
        Column("gst_rate", RATE, "Sales tax rate.", min=0, max=1),
        Column("duty_rate", RATE, "Electricity duty rate.", min=0, max=1),
    ],
    key=("consumer_type_code",),
)

dim_meter = _gold(
    "dim_meter",
    "One meter (customer connection) with its location and consumer type.",
    [
        Column("meter_id", STRING, "Meter reference number."),
        Column("customer_name", STRING, "Name on the connection."),
        Column("address", STRING, "Premises address."),
        Column("location_key", STRING, "Division of the premises."),
        Column("district", STRING, "District.", allowed=DISTRICTS),
        Column("division", STRING, "Division name."),
        Column("consumer_type_code", STRING, "Consumer type."),
        Column("category", STRING, "Consumer category."),
        Column("tariff_code", STRING, "Tariff schedule."),
        Column("sanctioned_load_kw", decimal(10, 2), "Sanctioned load, kW.", min=0),
        Column("meter_type", STRING, "smart or conventional.", allowed=("smart", "conventional")),
        Column("phase", STRING, "single or three.", allowed=("single", "three")),
        Column("installation_date", DATE, "Installation date."),
        Column("reading_interval_minutes", INT, "Minutes between readings.", min=1),
    ],
    key=("meter_id",),
    foreign_keys=(_fk("location_key", "dim_location"), _fk("consumer_type_code", "dim_consumer_type")),
)

dim_date = _gold(
    "dim_date",
    "One calendar day; whole years covering every date in the facts.",
    [
        Column("date_key", INT, "yyyymmdd.", min=19000101, max=21001231),
        Column("full_date", DATE, "The day."),
        Column("year", INT, "Year."),
        Column("quarter", INT, "Quarter 1-4.", min=1, max=4),
        Column("month", INT, "Month 1-12.", min=1, max=12),
        Column("month_name", STRING, "January..December."),
        Column("day", INT, "Day of month.", min=1, max=31),
        Column("day_of_week", INT, "ISO day of week, 1 = Monday.", min=1, max=7),
        Column("day_name", STRING, "Monday..Sunday."),
        Column("is_weekend", BOOL, "Saturday or Sunday."),
        Column(
            "season",
            STRING,
            "Season in Pakistan: summer May-Sep, winter Dec-Feb.",
            allowed=("winter", "spring", "summer", "autumn"),
        ),
    ],
    key=("date_key",),
)

dim_time = _gold(
    "dim_time",
    "One minute of the day.",
    [
        Column("time_key", INT, "hhmm.", min=0, max=2359),
        Column("hour", INT, "Hour 0-23.", min=0, max=23),
        Column("minute", INT, "Minute 0-59.", min=0, max=59),
        Column(
            "day_part",
            STRING,
            "night, morning, afternoon or evening.",
            allowed=("night", "morning", "afternoon", "evening"),
        ),
        Column("is_peak", BOOL, "Inside the evening peak, 18:00-22:00."),
    ],
    key=("time_key",),
)

fact_readings = _gold(
    "fact_readings",
    "One accepted interval reading of one meter.",
    [
        Column("meter_id", STRING, "Meter."),
        Column("date_key", INT, "Day of the reading."),
        Column("time_key", INT, "Start of the interval (hhmm)."),
        Column("consumer_type_code", STRING, "Consumer type of the meter."),
        Column("location_key", STRING, "Division of the meter."),
        Column("reading_ts", TIMESTAMP, "Start of the interval."),
        Column("kwh", KWH, "Energy in the interval, kWh.", min=0),
        Column("voltage", FLOAT, "Voltage, V.", min=0),
        Column("current_a", FLOAT, "Current, A.", min=0),
        Column("power_factor", FLOAT, "Power factor.", min=0, max=1),
        Column("frequency_hz", FLOAT, "Frequency, Hz."),
        Column(
            "anomaly_reason",
            STRING,
            "Anomalies of a true reading: " + ", ".join(ANOMALIES) + ".",
            nullable=True,
        ),
        Column("month", STRING, "YYYY-MM, the partition."),
    ],
    key=("meter_id", "reading_ts"),
    foreign_keys=(
        _fk("meter_id", "dim_meter"),
        _fk("date_key", "dim_date"),
        _fk("time_key", "dim_time"),
        _fk("consumer_type_code", "dim_consumer_type"),
        _fk("location_key", "dim_location"),
    ),
    partition=Partition("month", "reading_ts"),
)

fact_bills = _gold(
    "fact_bills",
    "One monthly bill with what has been paid against it.",
    [
        Column("bill_id", STRING, "Bill reference number."),
        Column("meter_id", STRING, "Meter billed."),
        Column("consumer_type_code", STRING, "Consumer type."),
        Column("location_key", STRING, "Division."),
        Column("billing_month", DATE, "First day of the month billed."),
        Column("billing_month_key", INT, "date_key of billing_month."),
        Column("issue_date_key", INT, "date_key of the issue date."),
        Column("due_date_key", INT, "date_key of the due date."),
        Column("units_kwh", INT, "Units billed.", min=0),
        Column("energy_charge", MONEY, "Energy charge, PKR.", min=0),
        Column("fixed_charge", MONEY, "Fixed charge, PKR.", min=0),
        Column("gst", MONEY, "Sales tax, PKR.", min=0),
        Column("electricity_duty", MONEY, "Electricity duty, PKR.", min=0),
        Column("tv_fee", MONEY, "PTV fee, PKR.", min=0),
        Column("total_amount", MONEY, "Amount payable, PKR.", min=0),
        Column("amount_paid", MONEY, "Sum of payments received, PKR.", min=0),
        Column("outstanding_amount", MONEY, "Amount still unpaid, PKR (0 when paid in full).", min=0),
        Column("payment_status", STRING, "How the bill was paid.", allowed=PAYMENT_STATUSES),
        Column("last_payment_date_key", INT, "date_key of the last payment.", nullable=True),
        Column("days_late", INT, "Days after the due date of the last payment.", nullable=True, min=0),
    ],
    key=("bill_id",),
    foreign_keys=(
        _fk("meter_id", "dim_meter"),
        _fk("consumer_type_code", "dim_consumer_type"),
        _fk("location_key", "dim_location"),
        _fk("billing_month_key", "dim_date", "date_key"),
        _fk("issue_date_key", "dim_date", "date_key"),
        _fk("due_date_key", "dim_date", "date_key"),
        _fk("last_payment_date_key", "dim_date", "date_key"),
    ),
)

fact_payments = _gold(
    "fact_payments",
    "One payment received against a bill.",
    [
        Column("payment_id", STRING, "Payment reference number."),
        Column("bill_id", STRING, "Bill paid."),
        Column("meter_id", STRING, "Meter of the bill."),
        Column("payment_date_key", INT, "date_key of the payment."),
        Column("amount_paid", MONEY, "Amount received, PKR.", min=0),
        Column("method", STRING, "Payment channel.", allowed=PAYMENT_METHODS),
        Column("days_after_due", INT, "Days between the due date and the payment; negative when early."),
        Column("is_late", BOOL, "Paid after the due date."),
    ],
    key=("payment_id",),
    foreign_keys=(
        _fk("bill_id", "fact_bills"),
        _fk("meter_id", "dim_meter"),
        _fk("payment_date_key", "dim_date", "date_key"),
    ),
)

agg_daily_consumption = _gold(
    "agg_daily_consumption",
    "One meter on one day.",
    [
        Column("meter_id", STRING, "Meter."),
        Column("date_key", INT, "Day (date_key)."),
        Column("day", DATE, "Day."),
        Column("readings", INT, "Readings accepted.", min=1),
        Column("total_kwh", TOTAL_KWH, "Energy, kWh.", min=0),
        Column("peak_kwh", TOTAL_KWH, "Energy in the 18:00-22:00 peak, kWh.", min=0),
        Column("max_kwh", KWH, "Largest single reading, kWh.", min=0),
        Column("avg_voltage", FLOAT, "Mean voltage, V."),
        Column("min_voltage", FLOAT, "Lowest voltage, V."),
        Column("anomaly_readings", INT, "Readings with an anomaly_reason.", min=0),
        Column("month", STRING, "YYYY-MM, the partition."),
    ],
    key=("meter_id", "date_key"),
    foreign_keys=(_fk("meter_id", "dim_meter"), _fk("date_key", "dim_date")),
    partition=Partition("month", "day"),
    audits=(
        _total_matches(
            "total_kwh_matches_fact",
            "select sum(total_kwh) from gold_meters.agg_daily_consumption",
            "select sum(kwh) from gold_meters.fact_readings",
        ),
    ),
)

agg_monthly_consumption = _gold(
    "agg_monthly_consumption",
    "One meter in one month.",
    [
        Column("meter_id", STRING, "Meter."),
        Column("month", STRING, "YYYY-MM."),
        Column("readings", INT, "Readings accepted.", min=1),
        Column("total_kwh", TOTAL_KWH, "Energy, kWh.", min=0),
        Column("peak_kwh", TOTAL_KWH, "Energy in the evening peak, kWh.", min=0),
        Column("max_kwh", KWH, "Largest single reading, kWh.", min=0),
        Column("avg_voltage", FLOAT, "Mean voltage, V."),
        Column("min_voltage", FLOAT, "Lowest voltage, V."),
        Column("anomaly_readings", INT, "Readings with an anomaly_reason.", min=0),
    ],
    key=("meter_id", "month"),
    foreign_keys=(_fk("meter_id", "dim_meter"),),
    audits=(
        _total_matches(
            "total_kwh_matches_fact",
            "select sum(total_kwh) from gold_meters.agg_monthly_consumption",
            "select sum(kwh) from gold_meters.fact_readings",
        ),
    ),
)

_BILLING_TOTALS = [
    Column("bills", INT, "Bills issued.", min=0),
    Column("billed_amount", AMOUNT, "Sum of bill totals, PKR.", min=0),
    Column("collected_amount", AMOUNT, "Sum of payments against those bills, PKR.", min=0),
    Column("outstanding_amount", AMOUNT, "Sum still unpaid, PKR.", min=0),
    Column("collection_rate", FLOAT, "collected / billed; empty when nothing was billed.", nullable=True, min=0),
]

agg_consumer_type_summary = _gold(
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
    foreign_keys=(_fk("consumer_type_code", "dim_consumer_type"),),
    audits=(
        _total_matches(
            "billed_matches_fact",
            "select sum(billed_amount) from gold_meters.agg_consumer_type_summary",
            "select sum(total_amount) from gold_meters.fact_bills",
        ),
        _total_matches(
            "kwh_matches_fact",
            "select sum(total_kwh) from gold_meters.agg_consumer_type_summary",
            "select sum(kwh) from gold_meters.fact_readings",
        ),
    ),
)

agg_location_summary = _gold(
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
    foreign_keys=(_fk("location_key", "dim_location"),),
    audits=(
        _total_matches(
            "billed_matches_fact",
            "select sum(billed_amount) from gold_meters.agg_location_summary",
            "select sum(total_amount) from gold_meters.fact_bills",
        ),
    ),
)

agg_payment_summary = _gold(
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

agg_bill_verification = _gold(
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
    foreign_keys=(_fk("bill_id", "fact_bills"), _fk("meter_id", "dim_meter")),
)

TABLES = (
    dim_location,
    dim_consumer_type,
    dim_meter,
    dim_date,
    dim_time,
    fact_readings,
    fact_bills,
    fact_payments,
    agg_daily_consumption,
    agg_monthly_consumption,
    agg_consumer_type_summary,
    agg_location_summary,
    agg_payment_summary,
    agg_bill_verification,
)

"""Smart-meter billing: the gold star schema (dimensions and facts); aggregates are in `aggregates.py`.

Each table here is built by `gold/meters/<name>.sql`; after a build its columns, types, key, foreign keys and
ranges are checked before the new version is published.
"""

from contracts.meters.silver import ANOMALIES, DISTRICTS, MONEY, PAYMENT_METHODS, RATE
from contracts.schema import (
    BOOL,
    DATE,
    FLOAT,
    INT,
    STRING,
    TIMESTAMP,
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


def gold_table(name: str, description: str, columns: list[Column], key: tuple[str, ...], **kw) -> Table:
    return Table("gold", "meters", name, description, tuple(columns), key, **kw)


def fk(column: str, table: str, to: str | None = None) -> ForeignKey:
    return ForeignKey((column,), table, (to or column,))


dim_location = gold_table(
    "dim_location",
    "One operation division (location) of IESCO.",
    [
        Column("location_key", STRING, "Division code."),
        Column("division", STRING, "Division name."),
        Column("district", STRING, "District.", allowed=DISTRICTS),
    ],
    key=("location_key",),
)

dim_consumer_type = gold_table(
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

dim_meter = gold_table(
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
    foreign_keys=(fk("location_key", "dim_location"), fk("consumer_type_code", "dim_consumer_type")),
)

dim_date = gold_table(
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

dim_time = gold_table(
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

fact_readings = gold_table(
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
        fk("meter_id", "dim_meter"),
        fk("date_key", "dim_date"),
        fk("time_key", "dim_time"),
        fk("consumer_type_code", "dim_consumer_type"),
        fk("location_key", "dim_location"),
    ),
    partition=Partition("month", "reading_ts"),
)

fact_bills = gold_table(
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
        fk("meter_id", "dim_meter"),
        fk("consumer_type_code", "dim_consumer_type"),
        fk("location_key", "dim_location"),
        fk("billing_month_key", "dim_date", "date_key"),
        fk("issue_date_key", "dim_date", "date_key"),
        fk("due_date_key", "dim_date", "date_key"),
        fk("last_payment_date_key", "dim_date", "date_key"),
    ),
)

fact_payments = gold_table(
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
        fk("bill_id", "fact_bills"),
        fk("meter_id", "dim_meter"),
        fk("payment_date_key", "dim_date", "date_key"),
    ),
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
)

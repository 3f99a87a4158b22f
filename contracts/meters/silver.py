"""Smart-meter billing (IESCO): the bronze feeds and the silver tables they become."""

import datetime as dt

from contracts.schema import (
    DATE,
    FLOAT,
    INT,
    STRING,
    TIMESTAMP,
    Check,
    Column,
    ForeignKey,
    Partition,
    Table,
    decimal,
)

DISTRICTS = ("Islamabad", "Rawalpindi", "Attock", "Jhelum", "Chakwal")
PAYMENT_METHODS = ("online", "bank", "cash", "mobile_app")
ANOMALIES = ("spike", "zero", "voltage_sag", "frequency_fault", "outage_gap")
MONEY = decimal(14, 2)
RATE = decimal(6, 4)


def _silver(name: str, description: str, columns: list[Column], key: tuple[str, ...], **kw) -> Table:
    return Table("silver", "meters", name, description, tuple(columns), key, **kw)


divisions = _silver(
    "divisions",
    "One IESCO operation division and the district it belongs to (reference data).",
    [
        Column("division_code", STRING, "Short code of the division.", pattern=r"^[A-Z0-9-]{2,12}$"),
        Column("division", STRING, "Division name."),
        Column("district", STRING, "District of the division.", allowed=DISTRICTS, normalize=True),
    ],
    key=("division_code",),
)

tariffs = _silver(
    "tariffs",
    "One NEPRA tariff schedule: fixed charges and tax rates applied to a bill (reference data).",
    [
        Column("tariff_code", STRING, "Tariff schedule code, e.g. A-1.", pattern=r"^[A-Z](-[0-9])?$"),
        Column("description", STRING, "What the tariff covers."),
        Column("fixed_charge", MONEY, "Fixed charge per bill, PKR.", min=0),
        Column("tv_fee", MONEY, "PTV licence fee per bill, PKR.", min=0),
        Column("gst_rate", RATE, "General sales tax on energy plus fixed charge.", min=0, max=1),
        Column("duty_rate", RATE, "Electricity duty on the energy charge.", min=0, max=1),
    ],
    key=("tariff_code",),
)

tariff_slabs = _silver(
    "tariff_slabs",
    "One consumption slab of a tariff: units between from_kwh and to_kwh are charged rate_per_kwh.",
    [
        Column("tariff_code", STRING, "Tariff the slab belongs to.", normalize=True),
        Column("slab_number", INT, "Order of the slab within its tariff.", min=1, max=20),
        Column("from_kwh", INT, "Units above which the slab applies.", min=0),
        Column("to_kwh", INT, "Last unit of the slab; empty for the open top slab.", nullable=True, min=1),
        Column("rate_per_kwh", decimal(8, 2), "Energy rate, PKR per kWh.", min=0.01, max=1000),
    ],
    key=("tariff_code", "slab_number"),
    foreign_keys=(ForeignKey(("tariff_code",), "tariffs", ("tariff_code",)),),
    checks=(Check("slab_bounds", "to_kwh is null or to_kwh > from_kwh", "A slab ends above where it starts."),),
)

consumer_types = _silver(
    "consumer_types",
    "One consumer type (connection category) and the tariff it is billed under (reference data).",
    [
        Column("consumer_type_code", STRING, "Consumer type code, e.g. RES-03.", pattern=r"^[A-Z]{2,3}-[0-9]{2}$"),
        Column("description", STRING, "What kind of connection this is."),
        Column(
            "category",
            STRING,
            "Broad category.",
            allowed=(
                "residential",
                "commercial",
                "general_services",
                "industrial",
                "bulk",
                "agricultural",
                "temporary",
                "public_lighting",
                "residential_colony",
                "traction",
            ),
            normalize=True,
        ),
        Column("tariff_code", STRING, "Tariff schedule the type is billed under.", normalize=True),
    ],
    key=("consumer_type_code",),
    foreign_keys=(ForeignKey(("tariff_code",), "tariffs", ("tariff_code",)),),
)

meters = _silver(
    "meters",
    "One electricity meter (a customer connection) with its location, type and sanctioned load.",
    [
        Column("meter_id", STRING, "Meter reference number.", pattern=r"^[A-Z]{2,8}-[0-9]{4,10}$"),
        Column("customer_name", STRING, "Name on the connection."),
        Column("address", STRING, "Premises address."),
        Column("district", STRING, "District of the premises.", allowed=DISTRICTS, normalize=True),
        Column("division", STRING, "Operation division of the premises.", normalize=True),
        Column("consumer_type_code", STRING, "Consumer type of the connection.", normalize=True),
        Column("sanctioned_load_kw", decimal(10, 2), "Sanctioned load, kW.", min=0.1, max=100000),
        Column(
            "meter_type",
            STRING,
            "Smart (AMI) or conventional meter.",
            allowed=("smart", "conventional"),
            normalize=True,
        ),
        Column("phase", STRING, "Supply phase.", allowed=("single", "three"), normalize=True),
        Column(
            "installation_date",
            DATE,
            "Date the meter was installed.",
            min=dt.date(1960, 1, 1),
            max=dt.date(2100, 1, 1),
        ),
        Column("reading_interval_minutes", INT, "Minutes between two readings of this meter.", min=1, max=1440),
    ],
    key=("meter_id",),
    foreign_keys=(
        ForeignKey(("consumer_type_code",), "consumer_types", ("consumer_type_code",)),
        ForeignKey(("district", "division"), "divisions", ("district", "division")),
    ),
)

readings = _silver(
    "readings",
    "One interval reading of one meter: the energy registered in the interval starting at reading_ts.",
    [
        Column("meter_id", STRING, "Meter that took the reading."),
        Column(
            "reading_ts",
            TIMESTAMP,
            "Start of the interval, local time (PKT).",
            min=dt.datetime(1990, 1, 1),
            max=dt.datetime(2100, 1, 1),
        ),
        Column("kwh", decimal(12, 3), "Energy registered in the interval, kWh.", min=0, max=1_000_000),
        Column("voltage", FLOAT, "Supply voltage, V.", min=0, max=1000),
        Column("current_a", FLOAT, "Mean current, A.", min=0, max=100_000),
        Column("power_factor", FLOAT, "Power factor.", min=0, max=1),
        Column("frequency_hz", FLOAT, "Grid frequency, Hz.", min=40, max=70),
        Column("month", STRING, "Month of reading_ts (YYYY-MM), the partition.", source=False),
        Column(
            "anomaly_reason",
            STRING,
            "Why a true reading looks unusual, ';'-separated: " + ", ".join(ANOMALIES) + "; empty when normal.",
            nullable=True,
            source=False,
        ),
    ],
    key=("meter_id", "reading_ts"),
    foreign_keys=(ForeignKey(("meter_id",), "meters", ("meter_id",)),),
    partition=Partition("month", "reading_ts"),
)

bills = _silver(
    "bills",
    "One monthly electricity bill of one meter.",
    [
        Column("bill_id", STRING, "Bill reference number."),
        Column("meter_id", STRING, "Meter billed."),
        Column("billing_month", DATE, "First day of the month billed."),
        Column("units_kwh", INT, "Units billed, kWh.", min=0),
        Column("energy_charge", MONEY, "Slab or flat energy charge, PKR.", min=0),
        Column("fixed_charge", MONEY, "Fixed charge, PKR.", min=0),
        Column("gst", MONEY, "General sales tax, PKR.", min=0),
        Column("electricity_duty", MONEY, "Electricity duty, PKR.", min=0),
        Column("tv_fee", MONEY, "PTV fee, PKR.", min=0),
        Column("total_amount", MONEY, "Amount payable by the due date, PKR.", min=0),
        Column("issue_date", DATE, "Date the bill was issued."),
        Column("due_date", DATE, "Last date to pay without surcharge."),
    ],
    key=("bill_id",),
    foreign_keys=(ForeignKey(("meter_id",), "meters", ("meter_id",)),),
    checks=(
        Check("first_of_month", "extract(day from billing_month) = 1", "billing_month is a month's first day."),
        Check(
            "total_is_sum",
            "total_amount = energy_charge + fixed_charge + gst + electricity_duty + tv_fee",
            "The total is the sum of its components.",
        ),
        Check("issued_after_month", "issue_date > billing_month", "A bill is issued after its month starts."),
        Check("due_after_issue", "due_date >= issue_date", "A bill falls due on or after its issue date."),
    ),
)

payments = _silver(
    "payments",
    "One payment received against a bill.",
    [
        Column("payment_id", STRING, "Payment reference number."),
        Column("bill_id", STRING, "Bill paid."),
        Column("payment_date", DATE, "Date the payment was received."),
        Column("amount_paid", MONEY, "Amount received, PKR.", min=0.01),
        Column("method", STRING, "Payment channel.", allowed=PAYMENT_METHODS, normalize=True),
    ],
    key=("payment_id",),
    foreign_keys=(ForeignKey(("bill_id",), "bills", ("bill_id",)),),
)

TABLES = (divisions, tariffs, tariff_slabs, consumer_types, meters, readings, bills, payments)

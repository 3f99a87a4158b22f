"""Payments (Batch Analytics Platform): daily transaction files and the reference data they point to."""

from contracts.schema import FLOAT, INT, STRING, TIMESTAMP, Check, Column, ForeignKey, Partition, Table, decimal

CHANNELS = ("Credit Card", "Debit Card", "UPI", "Net Banking")
STATUSES = ("success", "failed")
SEGMENTS = ("Retail", "SME", "Corporate")
REGIONS = ("North", "South", "East", "West", "Central")
DELAY_BUCKETS = ("fast", "medium", "slow")
AMOUNT = decimal(12, 2)
FEE = decimal(5, 2)
REVENUE = decimal(18, 6)  # amount x fee_percent / 100, exact


def _silver(name: str, description: str, columns: list[Column], key: tuple[str, ...], **kw) -> Table:
    return Table("silver", "payments", name, description, tuple(columns), key, **kw)


channels = _silver(
    "channels",
    "One payment channel and the fee the platform earns on it (reference data).",
    [
        Column("channel_id", INT, "Stable channel number.", min=1),
        Column("channel_name", STRING, "Channel.", allowed=CHANNELS),
        Column("fee_percent", FEE, "Fee on a successful transaction, percent of the amount.", min=0, max=100),
    ],
    key=("channel_name",),
    unique=(("channel_id",),),
)

cities = _silver(
    "cities",
    "One city with its state and region (reference data).",
    [
        Column("city_id", INT, "Stable city number.", min=1),
        Column("city", STRING, "City name."),
        Column("state", STRING, "State."),
        Column("region", STRING, "Region.", allowed=REGIONS),
    ],
    key=("city",),
    unique=(("city_id",),),
)

customers = _silver(
    "customers",
    "One customer with the segment it belongs to and its home city.",
    [
        Column("customer_id", STRING, "Customer id, C and five digits.", pattern=r"^C[0-9]{5}$"),
        Column("customer_name", STRING, "Name."),
        Column("segment", STRING, "Customer segment.", allowed=SEGMENTS, normalize=True),
        Column("home_city", STRING, "City the customer lives in."),
    ],
    key=("customer_id",),
    foreign_keys=(ForeignKey(("home_city",), "cities", ("city",)),),
)

transactions = _silver(
    "transactions",
    "One payment transaction, enriched with the channel's fee, a processing-delay bucket and the revenue.",
    [
        Column("transaction_id", STRING, "T, the day as YYYYMMDD, five digits.", pattern=r"^T[0-9]{13}$"),
        Column("transaction_ts", TIMESTAMP, "When the customer paid."),
        Column("customer_id", STRING, "Paying customer."),
        Column("city", STRING, "City the payment was made in."),
        Column("channel", STRING, "Payment channel.", normalize=True),
        Column("amount", AMOUNT, "Amount paid, positive.", min=0.01),
        Column("status", STRING, "Outcome.", allowed=STATUSES, normalize=True),
        Column("processing_time", FLOAT, "Seconds the payment took to process.", min=0, max=3600),
        Column("fee_percent", FEE, "The channel's fee, percent.", source=False),
        Column(
            "processing_delay_bucket",
            STRING,
            "fast (< 1 s), medium (< 3 s) or slow.",
            allowed=DELAY_BUCKETS,
            source=False,
        ),
        Column("revenue", REVENUE, "amount x fee_percent / 100 (whatever the status).", source=False),
        Column("transaction_date", STRING, "Day of transaction_ts (YYYY-MM-DD), the partition.", source=False),
    ],
    key=("transaction_id",),
    foreign_keys=(
        ForeignKey(("customer_id",), "customers", ("customer_id",)),
        ForeignKey(("city",), "cities", ("city",)),
        ForeignKey(("channel",), "channels", ("channel_name",)),
    ),
    # the id names its day, which is its partition: so an id is unique across days as silver makes it in a day
    checks=(
        Check(
            "id_names_its_day",
            "substr(transaction_id, 2, 8) = strftime(transaction_ts, '%Y%m%d')",
            "The id's YYYYMMDD is the day the customer paid.",
        ),
    ),
    partition=Partition("transaction_date", "transaction_ts", "%Y-%m-%d"),
    quarantine_group=r".*/date=\d{4}-\d{2}",  # a file and a folder a day (date=2024-01-05): a quarantine file a month
)

TABLES = (channels, cities, customers, transactions)

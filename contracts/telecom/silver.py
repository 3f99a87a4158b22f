"""Telecom (WTC): the CDR, forex and CRM feeds as silver tables, and the tariff they are billed by."""

from contracts.schema import (
    DATE,
    INT,
    STRING,
    TIMESTAMP,
    TIMESTAMP_MS,
    Check,
    Column,
    ForeignKey,
    Partition,
    Table,
    decimal,
)

MSISDN = r"^\+27[0-9]{9}$"  # South African numbers in E.164
DATA_TYPES = ("video", "audio", "image", "text", "application")
CALL_TYPES = ("voice", "video")
PAIRS = ("MRVZAR", "WAKMRV")
PROVINCES = (
    "Gauteng",
    "Western Cape",
    "KwaZulu-Natal",
    "Eastern Cape",
    "Free State",
    "Limpopo",
    "Mpumalanga",
    "North West",
    "Northern Cape",
)
DEVICE_TYPES = ("smartphone", "feature_phone", "tablet", "router")
# The feeds drop a file every five minutes, named by when it starts (20240130T233500_20240130T234000.csv): a day of
# them shares a quarantine file, which each refresh cycle rewrites, rather than one more file a cycle (288 a day)
# that every later cycle would link and read back.
FEED_DAY = r".*/[0-9]{8}"
PRICE = decimal(12, 4)  # quotes carry four decimals; exact, so hourly means do not depend on summation order
TARIFF_RATE = decimal(12, 4)


def _silver(name: str, description: str, columns: list[Column], key: tuple[str, ...], **kw) -> Table:
    return Table("silver", "telecom", name, description, tuple(columns), key, **kw)


def _day(source: str) -> Column:
    return Column("day", STRING, f"Day of {source} (YYYY-MM-DD), the partition.", source=False)


def _account_fk(column: str = "account_id") -> ForeignKey:
    return ForeignKey((column,), "crm_accounts", ("account_id",))


tariffs = _silver(
    "tariffs",
    "One tariff period: the prices of calls and data from valid_from until the next period (configuration). "
    "Optional: while bronze holds no tariff row, usage is priced at the seed's spec (1 ZAR a minute, 49 ZAR a GB).",
    [
        Column("valid_from", DATE, "First day the prices apply."),
        Column("call_zar_per_minute", TARIFF_RATE, "Price of a minute of call, billed per second.", min=0),
        Column("data_zar_per_gb", TARIFF_RATE, "Price of a GB (2^30 bytes) of data, billed per byte.", min=0),
    ],
    key=("valid_from",),
)

crm_accounts = _silver(
    "crm_accounts",
    "One customer account; its phone number is the msisdn its usage is recorded under.",
    [
        Column("account_id", INT, "Account number.", min=1),
        Column("owner_name", STRING, "Account holder."),
        Column("email", STRING, "Contact e-mail.", pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"),
        Column("phone_number", STRING, "The subscriber's msisdn, +27 and nine digits.", pattern=MSISDN),
    ],
    key=("account_id",),
)

crm_addresses = _silver(
    "crm_addresses",
    "The postal address of one account.",
    [
        Column("account_id", INT, "Account number."),
        Column("street_address", STRING, "Street and number."),
        Column("city", STRING, "City."),
        Column("state", STRING, "Province.", allowed=PROVINCES, normalize=True),
        Column("postal_code", STRING, "Four-digit postal code.", pattern=r"^[0-9]{4}$"),
        Column("country", STRING, "Country.", allowed=("South Africa",)),
    ],
    key=("account_id",),
    foreign_keys=(_account_fk(),),
)

crm_devices = _silver(
    "crm_devices",
    "One device registered to an account; an account's latest device is the one with the highest device_id.",
    [
        Column("account_id", INT, "Account the device belongs to."),
        Column("device_id", INT, "Device number, increasing as devices are registered.", min=1),
        Column("device_name", STRING, "Model name."),
        Column("device_type", STRING, "Kind of device.", allowed=DEVICE_TYPES, normalize=True),
        Column("device_os", STRING, "Operating system and version."),
    ],
    key=("device_id",),
    foreign_keys=(_account_fk(),),
)

_msisdn_fk = ForeignKey(("msisdn",), "crm_accounts", ("phone_number",))

cdr_data_usage = _silver(
    "cdr_data_usage",
    "One data session record of a subscriber on a tower (a subscriber has at most one per second).",
    [
        Column("msisdn", STRING, "Subscriber number.", pattern=MSISDN),
        Column("tower_id", INT, "Cell tower that carried the traffic.", min=1),
        Column("up_bytes", INT, "Bytes sent.", min=0),
        Column("down_bytes", INT, "Bytes received.", min=0),
        Column("data_type", STRING, "Kind of content.", allowed=DATA_TYPES, normalize=True),
        Column("ip_address", STRING, "Subscriber's IPv4 address.", pattern=r"^([0-9]{1,3}\.){3}[0-9]{1,3}$"),
        Column("website_url", STRING, "Site visited.", pattern=r"^https?://\S+$"),
        Column("event_datetime", TIMESTAMP, "When the session was recorded."),
        _day("event_datetime"),
    ],
    key=("msisdn", "event_datetime"),
    foreign_keys=(_msisdn_fk,),
    partition=Partition("day", "event_datetime", "%Y-%m-%d"),
    quarantine_group=FEED_DAY,
)

cdr_voice_calls = _silver(
    "cdr_voice_calls",
    "One call made by a subscriber (a subscriber starts at most one call per second).",
    [
        Column("msisdn", STRING, "Calling subscriber.", pattern=MSISDN),
        Column("tower_id", INT, "Cell tower the call started on.", min=1),
        Column("call_type", STRING, "Voice or video call.", allowed=CALL_TYPES, normalize=True),
        Column("dest_nr", STRING, "Number called.", pattern=r"^\+[0-9]{8,15}$"),
        Column("call_duration_sec", INT, "Length of the call in seconds.", min=0, max=86_400),
        Column("start_time", TIMESTAMP, "When the call started."),
        _day("start_time"),
    ],
    key=("msisdn", "start_time"),
    foreign_keys=(_msisdn_fk,),
    partition=Partition("day", "start_time", "%Y-%m-%d"),
    quarantine_group=FEED_DAY,
)

forex_raw = _silver(
    "forex_raw",
    "One quote of a currency pair (bid and ask) at millisecond precision.",
    [
        Column("timestamp", TIMESTAMP_MS, "Quote time, to the millisecond."),
        Column("pair_name", STRING, "Currency pair: MRVZAR is ZAR per MRV, WAKMRV is MRV per WAK.", allowed=PAIRS),
        Column("bid_price", PRICE, "Bid.", min=0.0001),
        Column("ask_price", PRICE, "Ask.", min=0.0001),
        Column("spread", PRICE, "Ask minus bid.", min=0),
        Column("ingested_at", TIMESTAMP, "When the feed received the quote."),
        _day("timestamp"),
    ],
    key=("pair_name", "timestamp"),
    checks=(
        Check("ask_is_bid_plus_spread", "ask_price = bid_price + spread", "A quote's ask is its bid plus spread."),
    ),
    partition=Partition("day", "timestamp", "%Y-%m-%d"),
    quarantine_group=FEED_DAY,
)

TABLES = (tariffs, crm_accounts, crm_addresses, crm_devices, cdr_data_usage, cdr_voice_calls, forex_raw)

"""Telecom (WTC): the analyst-ready "prepared layers", queried as `prepared_layers.<name>` as the seed names them.

Each table is built by `gold/telecom/<name>.sql` and partitioned by day, so a refresh rebuilds only the days new
data touched (and, for tables that carry state forward, the days after them).
"""

from contracts.schema import BOOL, FLOAT, INT, STRING, TIMESTAMP, Audit, Check, Column, Partition, Table, decimal
from contracts.telecom.silver import CALL_TYPES, DATA_TYPES, MSISDN, PAIRS

ZAR = decimal(18, 6)
WAK = decimal(18, 6)
SCHEMA = "prepared_layers"
# The partition after every day, of what is still open at the end of the data (gold/macros/telecom.sql: open_day)
OPEN_DAY = "9999-12-31"


def _prepared(name: str, description: str, columns: list[Column], key: tuple[str, ...], **kw) -> Table:
    return Table("gold", "telecom", name, description, tuple(columns), key, catalog_schema=SCHEMA, **kw)


def _day(source: str, sequential: bool = False) -> Partition:
    return Partition("day", source, "%Y-%m-%d", sequential)


def _day_column(source: str) -> Column:
    return Column("day", STRING, f"Day of {source} (YYYY-MM-DD), the partition.")


CREATED_AT = Column("created_at", TIMESTAMP, "When this row was computed (the run that built its partition).")


def _ohlc(name: str, width: str) -> Table:
    return _prepared(
        name,
        f"One {width} bar of a currency pair's bid price, with TA-Lib EMA and ATR over the pair's bars.",
        [
            Column("datetime", TIMESTAMP, "Bar start."),
            Column("pair_name", STRING, "Currency pair.", allowed=PAIRS),
            Column("bar_number", INT, "Position of the bar in the pair's sequence of bars, from 1.", min=1),
            Column("open_price", FLOAT, "First bid of the bar.", min=0),
            Column("high_price", FLOAT, "Highest bid.", min=0),
            Column("low_price", FLOAT, "Lowest bid.", min=0),
            Column("close_price", FLOAT, "Last bid.", min=0),
            Column("tick_count", INT, "Quotes in the bar.", min=1),
            Column("ema_8", FLOAT, "EMA of closes, n = 8; null before the 8th bar.", nullable=True),
            Column("ema_21", FLOAT, "EMA of closes, n = 21; null before the 21st bar.", nullable=True),
            Column("atr_8", FLOAT, "Wilder's ATR, n = 8; null before the 9th bar.", nullable=True, min=0),
            Column("atr_21", FLOAT, "Wilder's ATR, n = 21; null before the 22nd bar.", nullable=True, min=0),
            CREATED_AT,
            _day_column("datetime"),
        ],
        key=("pair_name", "datetime"),
        checks=(
            Check("high_is_highest", "high_price >= greatest(open_price, close_price, low_price)", "H is the top."),
            Check("low_is_lowest", "low_price <= least(open_price, close_price)", "L is the bottom."),
            Check("ema_from_nth_bar", "(ema_8 is null) = (bar_number < 8)", "EMA-8 starts at bar 8."),
            Check("atr_from_bar_after_nth", "(atr_21 is null) = (bar_number < 22)", "ATR-21 starts at bar 22."),
        ),
        audits=(
            Audit(
                "bars_numbered_in_order",
                f"select pair_name from {SCHEMA}.{name} group by pair_name "
                "having max(bar_number) <> count(*) or count(distinct bar_number) <> count(*)",
                "Each pair's bars are numbered 1..n in time order without gaps.",
            ),
        ),
        partition=_day("datetime", sequential=True),
    )


forex_ohlc_m1 = _ohlc("forex_ohlc_m1", "one-minute")
forex_ohlc_m30 = _ohlc("forex_ohlc_m30", "thirty-minute")
forex_ohlc_h1 = _ohlc("forex_ohlc_h1", "one-hour")

forex_rates_hourly = _prepared(
    "forex_rates_hourly",
    "One hour of a currency pair with quotes: the mean mid price ((bid + ask) / 2) of its quotes.",
    [
        Column("datetime", TIMESTAMP, "Hour start."),
        Column("pair_name", STRING, "Currency pair.", allowed=PAIRS),
        Column("avg_mid_price", FLOAT, "Mean of (bid + ask) / 2 over the hour's quotes.", min=0),
        Column("tick_count", INT, "Quotes in the hour.", min=1),
        _day_column("datetime"),
    ],
    key=("pair_name", "datetime"),
    partition=_day("datetime"),
)

cdr_open_runs = _prepared(
    "cdr_open_runs",
    "One subscriber at the end of one day: the run of consecutive interactions on one tower it has open then "
    "(every subscriber seen so far, active that day or not). The state a refresh continues sessions from. Day "
    f"{OPEN_DAY} is the end of the data, and lists every account (with no run yet: nulls and 0 interactions).",
    [
        Column("msisdn", STRING, "Subscriber.", pattern=MSISDN),
        Column("tower_id", INT, "Tower of the run; null for an account with no interaction yet.", nullable=True, min=1),
        Column("run_start", TIMESTAMP, "Time of the run's first interaction.", nullable=True),
        Column(
            "run_end",
            TIMESTAMP,
            "End of its last interaction so far (a call's is its start plus duration).",
            nullable=True,
        ),
        Column("interaction_count", INT, "Interactions in the run so far.", min=0),
        Column(
            "day",
            STRING,
            f"The day (YYYY-MM-DD) at whose end the run is open, the partition; {OPEN_DAY}: the end of the data.",
        ),
    ],
    key=("msisdn", "day"),
    checks=(
        Check("run_started", "strftime(run_start, '%Y-%m-%d') <= day", "The run started by that day."),
        Check("run_counted", "(tower_id is null) = (interaction_count = 0)", "A run has its interactions."),
        Check("no_run_only_at_end", f"tower_id is not null or day = '{OPEN_DAY}'", "A day lists runs only."),
    ),
    partition=_day("day", sequential=True),
)

cdr_tower_sessions = _prepared(
    "cdr_tower_sessions",
    "A run of at least three consecutive interactions (data events and calls, in time order) of one subscriber "
    "on one tower: closed, or still open at the end of the data (the source's current sessions).",
    [
        Column("msisdn", STRING, "Subscriber.", pattern=MSISDN),
        Column("tower_id", INT, "Tower of every interaction in the run.", min=1),
        Column("session_start", TIMESTAMP, "Time of the first interaction."),
        Column(
            "session_end",
            TIMESTAMP,
            "Time of the last interaction (so far, while open); a call's is its start plus duration.",
        ),
        Column("interaction_count", INT, "Interactions in the run (so far, while open).", min=3),
        Column(
            "is_open",
            BOOL,
            "Still open at the end of the data: no later interaction of the subscriber yet. The next refresh "
            "extends or closes it.",
        ),
        Column(
            "closed_at",
            TIMESTAMP,
            "Time of the next interaction, on another tower, which ended the session; null while it is open.",
            nullable=True,
        ),
        CREATED_AT,
        Column(
            "day",
            STRING,
            f"Day of closed_at (YYYY-MM-DD), the partition; {OPEN_DAY} for a session still open, which every "
            "refresh rebuilds.",
        ),
    ],
    key=("msisdn", "session_start"),
    checks=(
        Check("ends_after_start", "session_end >= session_start", "A session ends after it starts."),
        Check("closed_after_start", "closed_at > session_start", "The closing interaction comes after."),
        Check("open_until_closed", "is_open = (closed_at is null)", "A session is open until it is closed."),
        Check("open_at_the_end", f"is_open = (day = '{OPEN_DAY}')", "Open sessions sit after every day."),
    ),
    partition=_day("closed_at", sequential=True),
)


def _usage_summary(name: str, width: str) -> Table:
    per_type = [
        Column(f"{direction}_bytes_{kind}", INT, f"Bytes {direction} as {kind} data.", min=0)
        for kind in DATA_TYPES
        for direction in ("up", "down")
    ]
    return _prepared(
        name,
        f"One subscriber's calls and data in one {width} bucket with usage, and what they cost.",
        [
            Column("bucket_start", TIMESTAMP, "Start of the bucket."),
            Column("msisdn", STRING, "Subscriber.", pattern=MSISDN),
            *[Column(f"{kind}_calls", INT, f"{kind.capitalize()} calls started.", min=0) for kind in CALL_TYPES],
            Column("call_seconds", INT, "Seconds of the calls started in the bucket.", min=0),
            *per_type,
            Column("up_bytes", INT, "Bytes sent, all types.", min=0),
            Column("down_bytes", INT, "Bytes received, all types.", min=0),
            Column("call_cost_zar", ZAR, "Call seconds at the tariff's price per minute / 60.", min=0),
            Column("data_cost_zar", ZAR, "Bytes at the tariff's price per GB / 2^30.", min=0),
            Column("total_cost_zar", ZAR, "Calls plus data.", min=0),
            Column(
                "tariff_source",
                STRING,
                "The tariff the bucket was priced at: its bronze file and line, or `default` (the seed's 1 ZAR a "
                "minute and 49 ZAR a GB, used while bronze/telecom/tariffs/ holds no tariff row).",
            ),
            CREATED_AT,
            _day_column("bucket_start"),
        ],
        key=("msisdn", "bucket_start"),
        checks=(
            Check("total_is_sum", "total_cost_zar = call_cost_zar + data_cost_zar", "Costs add up."),
            Check(
                "bytes_add_up",
                " + ".join(f"up_bytes_{k}" for k in DATA_TYPES) + " = up_bytes",
                "Bytes per type add up to the total.",
            ),
        ),
        partition=_day("bucket_start"),
    )


cdr_usage_summary_15min = _usage_summary("cdr_usage_summary_15min", "15-minute")
cdr_usage_summary_30min = _usage_summary("cdr_usage_summary_30min", "30-minute")
cdr_usage_summary_1hr = _usage_summary("cdr_usage_summary_1hr", "one-hour")

crm_user_balance_hourly = _prepared(
    "crm_user_balance_hourly",
    "One account in one hour with usage: the account flattened with its address and latest device, the hour's "
    "costs in ZAR and in WAK at the hour's exchange rates, and the running total in WAK.",
    [
        Column("datetime", TIMESTAMP, "Hour start."),
        Column("account_id", INT, "Account.", min=1),
        Column("owner_name", STRING, "Account holder."),
        Column("email", STRING, "Contact e-mail."),
        Column("phone_number", STRING, "msisdn.", pattern=MSISDN),
        Column("street_address", STRING, "Street.", nullable=True),
        Column("city", STRING, "City.", nullable=True),
        Column("state", STRING, "Province.", nullable=True),
        Column("postal_code", STRING, "Postal code.", nullable=True),
        Column("country", STRING, "Country.", nullable=True),
        Column("device_id", INT, "Latest device.", nullable=True),
        Column("device_name", STRING, "Latest device's model.", nullable=True),
        Column("device_type", STRING, "Latest device's kind.", nullable=True),
        Column("device_os", STRING, "Latest device's operating system.", nullable=True),
        Column("call_cost_zar", ZAR, "Calls in the hour.", min=0),
        Column("data_cost_zar", ZAR, "Data in the hour.", min=0),
        Column("total_cost_zar", ZAR, "Calls plus data.", min=0),
        *[
            Column(
                f"avg_{pair.lower()}_rate",
                FLOAT,
                f"Mean {pair} mid price of the hour, carried forward from the last hour with quotes; null while "
                "no quote has arrived for or before the hour.",
                nullable=True,
                min=0,
            )
            for pair in ("WAKMRV", "MRVZAR")
        ],
        Column("call_cost_wak", WAK, "call_cost_zar / avg_mrvzar_rate / avg_wakmrv_rate.", nullable=True, min=0),
        Column("data_cost_wak", WAK, "data_cost_zar converted likewise.", nullable=True, min=0),
        Column("total_cost_wak", WAK, "total_cost_zar converted likewise.", nullable=True, min=0),
        Column(
            "accumulated_cost_wak",
            WAK,
            "Running total of total_cost_wak for the account (hours without rates add 0).",
            min=0,
        ),
        CREATED_AT,
        _day_column("datetime"),
    ],
    key=("account_id", "datetime"),
    checks=(
        Check("accumulated_covers_hour", "accumulated_cost_wak >= coalesce(total_cost_wak, 0)", "Totals only grow."),
    ),
    partition=_day("datetime", sequential=True),
)

TABLES = (
    forex_ohlc_m1,
    forex_ohlc_m30,
    forex_ohlc_h1,
    forex_rates_hourly,
    cdr_open_runs,
    cdr_tower_sessions,
    cdr_usage_summary_15min,
    cdr_usage_summary_30min,
    cdr_usage_summary_1hr,
    crm_user_balance_hourly,
)

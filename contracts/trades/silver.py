"""Trades (neotransact): client accounts, their stock trades, and how each trade settled against the account."""

from decimal import Decimal

from contracts.schema import (
    BOOL,
    DATE,
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

ACCOUNT_TYPES = ("standard", "premium", "corporate")
CLIENT_STATUSES = ("active", "inactive", "suspended")
RISK_TOLERANCES = ("low", "medium", "high")
CURRENCIES = ("USD", "EUR", "GBP")
TRANSACTION_TYPES = ("buy", "sell")
SUBMITTED_STATUSES = ("completed", "pending", "failed")
CHANNELS = ("online", "branch", "ATM")
STOCKS = {
    "AAPL": "Apple Inc.",
    "TSLA": "Tesla Inc.",
    "AMZN": "Amazon.com Inc.",
    "GOOGL": "Alphabet Inc.",
    "MSFT": "Microsoft Corp.",
    "NVDA": "NVIDIA Corp.",
}
SETTLEMENT_STATUSES = ("settled", "failed_insufficient_funds", "rejected_suspended")
# The source's fixed rates; between EUR and GBP a conversion goes through USD (EUR->GBP = 1.10 x 0.80).
TO_USD = {"USD": Decimal("1"), "EUR": Decimal("1.10"), "GBP": Decimal("1.25")}
FROM_USD = {"USD": Decimal("1"), "EUR": Decimal("0.91"), "GBP": Decimal("0.80")}
MONEY = decimal(15, 2)  # the source's amount NUMERIC(15, 2)
PRICE = decimal(10, 2)  # its price NUMERIC(10, 2)
RATE = decimal(10, 6)
CLIENT_ID = r"^[0-9a-f]{8}$"


def fx_rate(source: str, target: str) -> Decimal:
    """What one unit of `source` is worth in `target`: 1 for the same currency, else through USD."""
    return Decimal(1) if source == target else TO_USD[source] * FROM_USD[target]


def _silver(name: str, description: str, columns: list[Column], key: tuple[str, ...], **kw) -> Table:
    return Table("silver", "trades", name, description, tuple(columns), key, **kw)


clients = _silver(
    "clients",
    "One client account as the bank opened it: the balance and status settlement starts from.",
    [
        Column("client_id", STRING, "Client id, 8 hex characters.", pattern=CLIENT_ID),
        Column("name", STRING, "Client name."),
        Column("email", STRING, "Contact e-mail.", pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"),
        Column("date_of_birth", DATE, "Date of birth."),
        Column("country", STRING, "Country of residence."),
        Column("account_type", STRING, "Account type.", allowed=ACCOUNT_TYPES, normalize=True),
        Column("account_balance", MONEY, "Opening balance, in the account currency.", min=0),
        Column("account_open_date", DATE, "Day the account was opened."),
        Column("status", STRING, "Account status as filed.", allowed=CLIENT_STATUSES, normalize=True),
        Column("phone_number", STRING, "Phone number."),
        Column("address", STRING, "Postal address."),
        Column("risk_tolerance", STRING, "Risk tolerance.", allowed=RISK_TOLERANCES, normalize=True),
        Column("account_currency", STRING, "Currency the account is kept in.", allowed=CURRENCIES),
    ],
    key=("client_id",),
    checks=(
        Check(
            "adult_at_opening",
            "account_open_date >= date_of_birth + interval '18 years'",
            "An account is opened on or after the client's 18th birthday.",
        ),
    ),
)

transactions = _silver(
    "transactions",
    "One stock trade as submitted, its amount converted to the client's account currency and to USD.",
    [
        Column("transaction_id", STRING, "Transaction id, 8 letters or digits.", pattern=r"^[0-9A-Za-z]{8}$"),
        Column("client_id", STRING, "Trading client."),
        Column("transaction_type", STRING, "buy or sell.", allowed=TRANSACTION_TYPES, normalize=True),
        Column("transaction_date", TIMESTAMP, "When the trade was made."),
        Column("stock_ticker", STRING, "Ticker.", allowed=tuple(STOCKS)),
        Column("stock_name", STRING, "Company name.", allowed=tuple(STOCKS.values())),
        Column("shares", INT, "Shares traded.", min=1),
        Column("price", PRICE, "Price per share, in the transaction currency.", min=0.01),
        Column(
            "amount",
            MONEY,
            "shares x price in the transaction currency; a sell filed negative (the source's habit) is stored as its "
            "absolute value and flagged in negative_sell_amount.",
        ),
        Column("currency", STRING, "Transaction currency.", allowed=CURRENCIES),
        Column("transaction_status", STRING, "Status as submitted.", allowed=SUBMITTED_STATUSES, normalize=True),
        Column("transaction_channel", STRING, "Where it was placed.", allowed=CHANNELS, normalize=True),
        Column("negative_sell_amount", BOOL, "The sell was filed with a negative amount.", source=False),
        Column("account_currency", STRING, "The client's account currency.", allowed=CURRENCIES, source=False),
        Column("fx_rate", RATE, "Units of account currency per unit of transaction currency.", source=False),
        Column("amount_account", MONEY, "amount x fx_rate, rounded half up to cents.", source=False),
        Column("amount_usd", MONEY, "amount in USD at the fixed rates, rounded half up to cents.", source=False),
        Column("month", STRING, "Month of transaction_date (YYYY-MM), the partition.", source=False),
    ],
    key=("transaction_id",),
    foreign_keys=(ForeignKey(("client_id",), "clients", ("client_id",), brings=("account_open_date",)),),
    checks=(
        Check("amount_mismatch", "abs(amount) = shares * price", "The amount is shares x price, to the cent."),
        Check("negative_buy_amount", "amount >= 0 or transaction_type <> 'buy'", "Only sells may be filed negative."),
        Check(
            "before_account_opened",
            "cast(transaction_date as date) >= account_open_date",
            "A trade is made on or after the day its client's account opened.",
        ),
        Check(
            "stock_name_mismatch",
            " or ".join(f"(stock_ticker = '{t}' and stock_name = '{n}')" for t, n in STOCKS.items()),
            "The company name is the ticker's.",
        ),
    ),
    partition=Partition("month", "transaction_date", "%Y-%m"),
    key_across_partitions=True,  # an id filed again in another month's drop is a duplicate too
    bronze_formats=("csv", "xlsx"),
)

settlements = _silver(
    "settlements",
    "One transaction in silver with how it settled against its client's account: in (transaction_date, "
    "transaction_id) order per client, from the client's opening balance, the outcome and the account right after "
    "it. Each file holds a run of months, sorted by client, date and id.",
    [
        *[c for c in transactions.columns if c.name != "month"],
        Column("settlement_status", STRING, "Outcome.", allowed=SETTLEMENT_STATUSES),
        Column("balance_after", MONEY, "Balance after it, in the account currency.", min=0),
        Column("debt_after", MONEY, "Debt after it, in the account currency.", min=0),
        Column("status_after", STRING, "Account status after it.", allowed=CLIENT_STATUSES),
        Column("year", STRING, "Year of transaction_date (YYYY), the partition.", source=False),
    ],
    key=("transaction_id",),
    foreign_keys=(
        ForeignKey(("transaction_id",), "transactions", ("transaction_id",)),
        ForeignKey(("client_id",), "clients", ("client_id",)),
    ),
    partition=Partition("year", "transaction_date", "%Y", sequential=True),
    computed=True,
)

TABLES = (clients, transactions, settlements)

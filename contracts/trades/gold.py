"""Trades: the source's tables (transactions by year, clients, the per-client summary) and a daily star for BI.

Columns that mean the same as in silver are silver's own Column objects, so they are described once.
"""

from contracts.calendar import DATE_DIMENSION
from contracts.schema import DATE, INT, STRING, Audit, Check, Column, ForeignKey, Partition, Table, decimal
from contracts.trades import silver
from contracts.trades.silver import MONEY, STOCKS

TOTAL = decimal(18, 2)


def _gold(name: str, description: str, columns: list[Column], key: tuple[str, ...], **kw) -> Table:
    return Table("gold", "trades", name, description, tuple(columns), key, **kw)


def _fk(column: str, table: str, to: str | None = None) -> ForeignKey:
    return ForeignKey((column,), table, (to or column,))


def _of(table: Table, *names: str) -> list[Column]:
    return [table.column(name) for name in names]


_BY_YEAR = Partition("year", "transaction_date", "%Y")
_NO_DEBT_WITH_MONEY = "debt_after = 0 or balance_after = 0"

transactions = _gold(
    "transactions",
    "One transaction in silver with how it settled: the source's transactions table, partitioned by year, each "
    "file sorted by client_id and transaction_date so that a client's lookup reads few row groups.",
    [
        *_of(silver.transactions, "transaction_id", "transaction_date", "client_id", "transaction_type"),
        *_of(silver.transactions, "stock_ticker", "stock_name", "shares", "price", "amount", "currency"),
        *_of(silver.transactions, "amount_account", "account_currency", "fx_rate"),
        Column("submitted_status", STRING, "Status as submitted.", allowed=silver.SUBMITTED_STATUSES),
        *_of(silver.settlements, "settlement_status", "balance_after", "debt_after"),
        *_of(silver.settlements, "transaction_channel", "year"),
    ],
    key=("transaction_id",),
    foreign_keys=(_fk("client_id", "clients"),),
    checks=(Check("no_debt_with_money", _NO_DEBT_WITH_MONEY, "A client owes money only with an empty balance."),),
    partition=_BY_YEAR,
    sorted_by=("client_id", "transaction_date", "transaction_id"),
)

clients = _gold(
    "clients",
    "One client with its account after every transaction settled: final balance, debt and status (suspended while "
    "suspended, active once a sell lifted a suspension, otherwise as filed).",
    [
        *_of(silver.clients, "client_id", "name", "email", "date_of_birth", "country", "account_type"),
        Column("account_balance", MONEY, "Balance after the client's last transaction.", min=0),
        Column("debt", MONEY, "Debt after the client's last transaction.", min=0),
        *_of(silver.clients, "account_open_date"),
        Column("status", STRING, "Status after the client's last transaction.", allowed=silver.CLIENT_STATUSES),
        *_of(silver.clients, "phone_number", "address", "risk_tolerance", "account_currency"),
        Column("opening_balance", MONEY, "Balance as filed, before any transaction.", min=0),
        Column("filed_status", STRING, "Status as filed.", allowed=silver.CLIENT_STATUSES),
    ],
    key=("client_id",),
    checks=(
        Check("no_debt_with_money", "debt = 0 or account_balance = 0", "A client owes money only when empty."),
        Check("debtors_are_suspended", "debt = 0 or status = 'suspended'", "A client in debt is suspended."),
    ),
)

client_transaction_summary = _gold(
    "client_transaction_summary",
    "One client, with or without transactions: the source's materialised view, with settled amounts in the account "
    "currency and the account as it ends.",
    [
        Column("client_id", STRING, "Client."),
        Column("total_transactions", INT, "All its transactions in silver, whatever their outcome.", min=0),
        Column("total_spent", TOTAL, "Settled buys, in the account currency.", min=0),
        Column("total_gained", TOTAL, "Settled sells, in the account currency.", min=0),
        Column("balance", MONEY, "Final balance.", min=0),
        Column("debt", MONEY, "Final debt.", min=0),
        Column("status", STRING, "Final status.", allowed=silver.CLIENT_STATUSES),
        *_of(silver.clients, "account_currency"),
    ],
    key=("client_id",),
    foreign_keys=(_fk("client_id", "clients"),),
    audits=(
        Audit(
            "every_transaction_counted",
            "select 1 from (select sum(total_transactions) n from gold_trades.client_transaction_summary) s, "
            "(select count(*) n from gold_trades.transactions) t where s.n <> t.n",
            "The clients' transaction counts add up to the transactions.",
        ),
        Audit(
            "every_client_listed",
            "select 1 from (select count(*) n from gold_trades.client_transaction_summary) s, "
            "(select count(*) n from gold_trades.clients) c where s.n <> c.n",
            "One row per client, even one without transactions.",
        ),
    ),
)

dim_client = _gold(
    "dim_client",
    "One client, for BI.",
    [
        Column("client_key", INT, "The client id read as a hexadecimal number."),
        *_of(silver.clients, "client_id", "name", "country", "account_type", "risk_tolerance"),
        *_of(silver.clients, "account_currency", "account_open_date"),
        Column("status", STRING, "Final status.", allowed=silver.CLIENT_STATUSES),
    ],
    key=("client_key",),
)

dim_stock = _gold(
    "dim_stock",
    "One stock traded.",
    _of(silver.transactions, "stock_ticker", "stock_name"),
    key=("stock_ticker",),
)

dim_date = _gold(
    "dim_date",
    "One calendar day from the first to the last transaction.",
    list(DATE_DIMENSION),
    key=("date_key",),
)

fact_trades = _gold(
    "fact_trades",
    "One transaction with its keys, amounts in three currencies and outcome.",
    [
        *_of(silver.transactions, "transaction_id", "transaction_date"),
        Column("date_key", INT, "Day of the transaction."),
        Column("client_key", INT, "Client."),
        *_of(silver.transactions, "stock_ticker", "transaction_type", "shares", "price", "amount", "currency"),
        *_of(silver.transactions, "amount_account", "account_currency", "amount_usd"),
        Column("submitted_status", STRING, "Status as submitted.", allowed=silver.SUBMITTED_STATUSES),
        *_of(silver.settlements, "settlement_status"),
        *_of(silver.settlements, "transaction_channel", "year"),
    ],
    key=("transaction_id",),
    foreign_keys=(_fk("date_key", "dim_date"), _fk("client_key", "dim_client"), _fk("stock_ticker", "dim_stock")),
    partition=_BY_YEAR,
)

agg_daily_ticker = _gold(
    "agg_daily_ticker",
    "One day and ticker with trades: how many were submitted and settled, and the shares and USD value settled.",
    [
        Column("trade_date", DATE, "Day."),
        Column("stock_ticker", STRING, "Ticker.", allowed=tuple(STOCKS)),
        Column("trades", INT, "Transactions submitted.", min=1),
        Column("settled_trades", INT, "Of them, settled.", min=0),
        Column("shares_bought", INT, "Shares of settled buys.", min=0),
        Column("shares_sold", INT, "Shares of settled sells.", min=0),
        Column("value_usd", TOTAL, "USD value of settled trades.", min=0),
    ],
    key=("trade_date", "stock_ticker"),
    foreign_keys=(_fk("stock_ticker", "dim_stock"),),
    checks=(Check("settled_within_trades", "settled_trades <= trades", "Settled trades were submitted."),),
    audits=(
        Audit(
            "value_adds_up",
            "select 1 from (select coalesce(sum(value_usd), 0) v from gold_trades.agg_daily_ticker) a, "
            "(select coalesce(sum(amount_usd), 0) v from gold_trades.fact_trades where settlement_status = 'settled') "
            "f where a.v <> f.v",
            "The daily values add up to the settled facts.",
        ),
    ),
)

TABLES = (
    clients,
    transactions,
    client_transaction_summary,
    dim_client,
    dim_stock,
    dim_date,
    fact_trades,
    agg_daily_ticker,
)

"""Every table's contract, declared once, looked up by layer, domain and name."""

from contracts import meters, payments, ratings, telecom, trades
from contracts.schema import ForeignKey, Table

_TABLES: tuple[Table, ...] = meters.TABLES + telecom.TABLES + payments.TABLES + trades.TABLES + ratings.TABLES
DOMAINS: tuple[str, ...] = tuple(dict.fromkeys(t.domain for t in _TABLES))


def tables(layer: str | None = None, domain: str | None = None) -> list[Table]:
    """Contracts in declaration order, optionally of one layer and/or domain."""
    return [t for t in _TABLES if layer in (None, t.layer) and domain in (None, t.domain)]


def by_name(qualified_name: str) -> Table:
    """The table a catalog name such as silver_meters.readings or prepared_layers.forex_ohlc_m1 stands for."""
    for t in _TABLES:
        if t.qualified_name == qualified_name:
            return t
    raise KeyError(qualified_name)


def get(layer: str, domain: str, name: str) -> Table:
    for t in _TABLES:
        if (t.layer, t.domain, t.name) == (layer, domain, name):
            return t
    raise KeyError(f"{layer}_{domain}.{name}")


def parent(table: Table, fk: ForeignKey) -> Table:
    """The table a foreign key points to: of the same layer and domain."""
    return get(table.layer, table.domain, fk.table)


def computed_from(table: Table) -> list[Table]:
    """The silver tables a computed table reads: those its foreign keys name, else every table of its domain read
    from bronze."""
    named = [parent(table, fk) for fk in table.foreign_keys]
    return named or [t for t in tables("silver", table.domain) if not t.computed]

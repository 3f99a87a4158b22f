"""Every table's contract, declared once, looked up by layer, domain and name."""

from contracts import meters
from contracts.schema import Table

_TABLES: tuple[Table, ...] = meters.TABLES
DOMAINS: tuple[str, ...] = tuple(dict.fromkeys(t.domain for t in _TABLES))


def tables(layer: str | None = None, domain: str | None = None) -> list[Table]:
    """Contracts in declaration order, optionally of one layer and/or domain."""
    return [t for t in _TABLES if layer in (None, t.layer) and domain in (None, t.domain)]


def get(layer: str, domain: str, name: str) -> Table:
    for t in _TABLES:
        if (t.layer, t.domain, t.name) == (layer, domain, name):
            return t
    raise KeyError(f"{layer}_{domain}.{name}")

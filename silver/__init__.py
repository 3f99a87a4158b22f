"""Silver: bronze rows validated against their contracts, deduplicated and written as Parquet by polars."""

from contracts.schema import Table
from silver import meters, payments
from silver.job import Derivation

_DERIVATIONS = {
    (module.__name__.rsplit(".", 1)[1], name): derivation
    for module in (meters, payments)
    for name, derivation in module.DERIVATIONS.items()
}


def derivation_for(table: Table) -> Derivation | None:
    return _DERIVATIONS.get((table.domain, table.name))

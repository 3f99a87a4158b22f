"""Silver: bronze rows validated against their contracts, deduplicated and written as Parquet by polars."""

from contracts.schema import Table
from silver import meters
from silver.job import Derivation

_DERIVATIONS = {("meters", name): derivation for name, derivation in meters.DERIVATIONS.items()}


def derivation_for(table: Table) -> Derivation | None:
    return _DERIVATIONS.get((table.domain, table.name))

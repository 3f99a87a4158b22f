"""Which job brings a silver table up to date, and the columns a table derives: kept apart from the package, so that
importing any silver module (a result, a rule) does not load every domain's jobs."""

from contracts.schema import Table
from silver import meters, payments, ratings, trades
from silver.agency_files_job import AgencyFilesJob
from silver.result import Derivation
from silver.settlement_job import SettlementJob

_DERIVATIONS = {
    (module.__name__.rsplit(".", 1)[1], name): derivation
    for module in (meters, payments, trades, ratings)
    for name, derivation in module.DERIVATIONS.items()
}
# silver tables that read no bronze: each is computed by its own job from other silver tables
_COMPUTED = {("trades", "settlements"): SettlementJob, ("ratings", "agency_files"): AgencyFilesJob}


def derivation_for(table: Table) -> Derivation | None:
    return _DERIVATIONS.get((table.domain, table.name))


def computed_by(table: Table) -> type[SettlementJob | AgencyFilesJob]:
    return _COMPUTED[(table.domain, table.name)]

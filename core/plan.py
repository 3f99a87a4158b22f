"""What a computed table must rebuild: nothing, everything, or the partitions whose inputs changed.

Gold models and silver tables computed from other tables (trade settlements) share this: a table is up to date
while its identity holds (its code, contract, and the versions of the inputs it reads whole) and the inputs it
tracks partition by partition (partitioned like itself) are at the versions it was built from. When only some
input partitions changed, only those are rebuilt; a sequential table (state carried from one partition to the
next) rebuilds from the first changed partition on.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from contracts.schema import Table


@dataclass(frozen=True)
class Plan:
    fingerprint: str  # of the table's identity: a change rebuilds it whole
    input_partitions: dict[str, dict[str, str]]  # input -> partition -> version
    rebuild: set[str] | None  # partitions to rebuild; None: the whole table


def plan(
    table: Table,
    identity: dict[str, Any],
    tracked: dict[str, dict[str, Any]],
    previous: dict[str, Any] | None,
    force: bool = False,
) -> Plan | None:
    """None when up to date. `tracked` maps each input followed partition by partition to its committed state;
    `previous` is the table's own committed state."""
    fingerprint = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()
    input_partitions = {
        name: {p: facts["version"] for p, facts in state.get("partitions", {}).items()}
        for name, state in sorted(tracked.items())
    }
    whole = Plan(fingerprint, input_partitions, None)
    if force or previous is None or previous.get("fingerprint") != fingerprint:
        return whole
    before = previous.get("input_partitions", {})
    if before == input_partitions:
        return None
    if "partitions" not in previous or before.keys() != input_partitions.keys():
        return whole
    changed = {
        partition
        for name, versions in input_partitions.items()
        for partition in versions.keys() | before[name].keys()
        if versions.get(partition) != before[name].get(partition)
    }
    if table.partition.sequential and changed:
        known = set(previous["partitions"]) | {p for versions in input_partitions.values() for p in versions}
        changed = {p for p in known if p and p >= min(changed)}
    return Plan(fingerprint, input_partitions, changed)

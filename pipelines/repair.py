"""The cheapest command that repairs a domain whose ingested bronze changed or vanished.

Bronze is immutable once ingested, and a run stops the domain whose files changed anyway. Its message names the
repair that costs least: when every such file still exists in one Hive-style day folder (`date=2024-03-01/`),
reprocessing that day, which reads its folder again (`lakehouse run --domain payments --date 2024-03-01`);
otherwise rebuilding the domain from all its bronze (`lakehouse run --full-refresh --domain payments`).
"""

from __future__ import annotations

import re

_DAY_FOLDER = re.compile(r"/[^/]+=(\d{4}-\d{2}-\d{2})/")  # what `lakehouse run --date` reprocesses


def repair_command(domain: str, altered: dict[str, bool]) -> str:
    """The command that repairs a domain whose ingested bronze files changed or vanished (`altered`: each with
    whether it still exists)."""
    days = {match[1] if (match := _DAY_FOLDER.search(rel)) else None for rel in altered}
    if all(altered.values()) and len(days) == 1 and None not in days:
        return f"lakehouse run --domain {domain} --date {days.pop()}"
    return f"lakehouse run --full-refresh --domain {domain}"

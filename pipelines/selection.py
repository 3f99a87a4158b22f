"""What a run's --domain and --select name, resolved before any work: a misspelt model stops the command at once,
not after silver has run for minutes."""

from __future__ import annotations

import contracts
from core.errors import LakehouseError
from gold.models import dependencies, models
from pipelines.graph import downstream, upstream


def resolve_domains(requested: tuple[str, ...]) -> list[str]:
    unknown = [d for d in requested if d not in contracts.DOMAINS]
    if unknown:
        raise LakehouseError(f"unknown domain {unknown[0]!r}; domains: {', '.join(contracts.DOMAINS)}")
    return list(requested or contracts.DOMAINS)


def select_models(selectors: tuple[str, ...], domains: list[str]) -> set[str]:
    """dbt-style selection among the gold models of `domains`: `m` the model, `m+` and its descendants, `+m` and
    its ancestors. A model is named by its table name, or by its qualified name where several domains share one
    (`dim_date`)."""
    graph = dependencies()
    candidates = {name for name in graph if models()[name].table.domain in domains}
    chosen: set[str] = set()
    for selector in selectors:
        model = _model(selector, candidates, graph)
        chosen.add(model)
        if selector.endswith("+"):
            chosen |= downstream(graph, model)
        if selector.startswith("+"):
            chosen |= {u for u in upstream(graph, model) if u in graph}
    return chosen & candidates


def _model(selector: str, candidates: set[str], graph: dict[str, tuple[str, ...]]) -> str:
    name = selector.strip("+")
    matches = sorted(c for c in candidates if name in (c, c.split(".")[1]))
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise LakehouseError(f"--select {selector} is ambiguous: it matches {', '.join(matches)}; give one of these")
    elsewhere = sorted(m for m in graph if name in (m, m.split(".")[1]))
    if elsewhere:
        domains = sorted({models()[m].table.domain for m in elsewhere})
        raise LakehouseError(f"--select {selector} is a model of {', '.join(domains)}, not of the --domain given")
    known = ", ".join(sorted({c.split(".")[1] for c in candidates}))
    raise LakehouseError(f"--select {selector} matches no gold model; models: {known}")

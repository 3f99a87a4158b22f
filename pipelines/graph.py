"""Dependency order for tables: silver tables by foreign key, gold models by what their SQL reads."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from core.errors import LakehouseError


def topological(dependencies: Mapping[str, Iterable[str]]) -> list[str]:
    """Nodes ordered so that each comes after everything it depends on (ties in declaration order)."""
    ordered: list[str] = []
    state: dict[str, str] = {}

    def visit(node: str, path: tuple[str, ...]) -> None:
        if state.get(node) == "done":
            return
        if state.get(node) == "visiting":
            raise LakehouseError(f"dependency cycle: {' -> '.join((*path, node))}")
        state[node] = "visiting"
        for upstream in dependencies.get(node, ()):
            if upstream in dependencies:
                visit(upstream, (*path, node))
        state[node] = "done"
        ordered.append(node)

    for node in dependencies:
        visit(node, ())
    return ordered


def downstream(dependencies: Mapping[str, Iterable[str]], node: str) -> set[str]:
    """Everything that depends on `node`, directly or not."""
    found: set[str] = set()
    frontier = {node}
    while frontier:
        frontier = {n for n, ups in dependencies.items() if set(ups) & frontier} - found
        found |= frontier
    return found


def upstream(dependencies: Mapping[str, Iterable[str]], node: str) -> set[str]:
    """Everything `node` depends on, directly or not."""
    found: set[str] = set()
    frontier = {node}
    while frontier:
        frontier = {u for n in frontier for u in dependencies.get(n, ()) if u in dependencies} - found
        found |= frontier
    return found

"""Checks on the command graph of one parameter variant: cycles and double OPCON.

Works on the plain (parameter-substituted) scenario data so it can run before
a :class:`Structure` can be built; yields ``(path, message, fix)``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from allied_c2.alliance.located import Path_
from allied_c2.alliance.parameters import applies

COMMAND = {"COCOM", "OPCON", "TACON", "TACCNT", "ADCON", "ADMCON"}
OPCON = "OPCON"

Finding = tuple[Path_, str, str]


def command_problems(
    data: object, orgs: Mapping[str, Mapping[str, Any]], values: Mapping[str, object]
) -> Iterator[Finding]:
    edges = list(_command_edges(data, orgs, values))
    yield from _double_opcon(edges, orgs)
    yield from _cycles(edges)


def _command_edges(
    data: object, orgs: Mapping[str, Mapping[str, Any]], values: Mapping[str, object]
) -> Iterator[tuple[int, str, str, str]]:
    if not isinstance(data, Mapping) or not isinstance(data.get("relationships"), list):
        return
    for index, rel in enumerate(data["relationships"]):
        if not isinstance(rel, Mapping) or rel.get("relation") not in COMMAND:
            continue
        sup, sub = rel.get("superior"), rel.get("subordinate")
        if sup in orgs and sub in orgs and sup != sub and applies(rel.get("when"), values):
            yield index, str(sup), str(sub), str(rel["relation"])


def _double_opcon(
    edges: list[tuple[int, str, str, str]], orgs: Mapping[str, Mapping[str, Any]]
) -> Iterator[Finding]:
    seen: dict[tuple[str, object], str] = {}
    for index, sup, sub, relation in edges:
        if relation != OPCON:
            continue
        nation = orgs[sup].get("nation")
        key = (sub, nation)
        if key in seen and seen[key] != sup:
            yield (
                ("relationships", index, "superior"),
                f"organisation '{sub}' has two OPCON superiors in {nation}: "
                f"'{seen[key]}' and '{sup}'",
                "keep one OPCON superior; make the other TACON, ADCON or a support relation",
            )
        else:
            seen.setdefault(key, sup)


def _cycles(edges: list[tuple[int, str, str, str]]) -> Iterator[Finding]:
    graph: dict[str, list[tuple[str, int]]] = {}
    for index, sup, sub, _ in edges:
        graph.setdefault(sup, []).append((sub, index))
    for component in _strongly_connected(graph):
        if len(component) < 2:
            continue
        start = min(component)
        path, closing = _walk_cycle(graph, start, component)
        yield (
            ("relationships", closing, "subordinate"),
            "command cycle: " + " -> ".join([*path, path[0]]),
            "remove or reverse one of these command relationships",
        )


def _walk_cycle(
    graph: Mapping[str, list[tuple[str, int]]], start: str, component: set[str]
) -> tuple[list[str], int]:
    """A simple cycle through ``start`` inside one strongly connected component."""
    # Breadth-first from start's successors back to start gives the shortest cycle.
    parents: dict[str, tuple[str, int]] = {}
    frontier = [start]
    while frontier:
        nxt: list[str] = []
        for node in frontier:
            for succ, index in sorted(graph.get(node, [])):
                if succ not in component:
                    continue
                if succ == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(parents[path[-1]][0])
                    return list(reversed(path)), index
                if succ not in parents:
                    parents[succ] = (node, index)
                    nxt.append(succ)
        frontier = nxt
    raise AssertionError("a strongly connected component always has a cycle")


def _strongly_connected(graph: Mapping[str, list[tuple[str, int]]]) -> list[set[str]]:
    """Tarjan's algorithm, iterative so deep chains cannot hit the recursion limit."""
    index_of: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[set[str]] = []
    counter = 0
    nodes = sorted(set(graph) | {s for succs in graph.values() for s, _ in succs})
    for root in nodes:
        if root in index_of:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            node, child = work.pop()
            if child == 0:
                index_of[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            succs = graph.get(node, [])
            if child < len(succs):
                work.append((node, child + 1))
                succ = succs[child][0]
                if succ not in index_of:
                    work.append((succ, 0))
                elif succ in on_stack:
                    low[node] = min(low[node], index_of[succ])
                continue
            if low[node] == index_of[node]:
                component: set[str] = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                out.append(component)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return out

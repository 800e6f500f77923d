"""CommandGraph (the index routing now uses) answers as Structure's own methods do."""

from __future__ import annotations

from collections import deque

import pytest

from allied_c2.alliance.model import Relation, Relationship, Structure
from allied_c2.alliance.routing_graph import CommandGraph

from ..alliance.structures import alliance_2024, alliance_jfhq
from .digests import shipped


def _ancestors_by_scan(structure: Structure, org_id: str) -> dict[str, int]:
    """routing.command_ancestors as it was: a scan of every relationship per call."""
    parents: dict[str, list[str]] = {}
    for rel in structure.relationships:
        if rel.relation.is_command:
            parents.setdefault(rel.subordinate, []).append(rel.superior)
    dist = {org_id: 0}
    queue = deque([org_id])
    while queue:
        current = queue.popleft()
        for parent in parents.get(current, ()):
            if parent not in dist:
                dist[parent] = dist[current] + 1
                queue.append(parent)
    return dist


def _structures() -> list[Structure]:
    out = [alliance_2024(), alliance_jfhq()]
    for name, overrides in [
        ("alliance-2024", {}),
        ("alliance-jfhq", {"delegation": "none"}),
        ("alliance-jfhq", {"delegation": "full"}),
        ("trilateral-hadr", {}),
    ]:
        out.append(shipped(name, **overrides))
    odd = alliance_jfhq()  # a self-counterpart and a command cycle, the edge cases
    some = sorted(odd.organisations)[:2]
    odd.relationships.append(Relationship(some[0], some[0], Relation.COUNTERPART))
    odd.relationships.append(Relationship(some[0], some[1], Relation.ADCON))
    odd.relationships.append(Relationship(some[1], some[0], Relation.ADCON))
    out.append(odd)
    return out


@pytest.mark.parametrize("structure", _structures(), ids=lambda s: s.name)
def test_the_graph_answers_as_the_structure_does(structure: Structure) -> None:
    graph = CommandGraph(structure)
    for org_id in structure.organisations:
        assert graph.command_parent(org_id) == structure.command_parent(org_id)
        assert graph.chain_of_command(org_id) == structure.chain_of_command(org_id)
        assert graph.children(org_id) == structure.children(org_id)
        assert graph.counterparts(org_id) == structure.counterparts(org_id)
        assert graph.ancestors(org_id) == _ancestors_by_scan(structure, org_id)

"""A structure's command relationships indexed once, for routing.

``Structure.command_parent``, ``chain_of_command``, ``children`` and ``counterparts``
scan every relationship on every call; routing one request makes hundreds of such
calls (and finding a kind's originators routes hundreds of requests). A
:class:`CommandGraph` answers the same questions, by the same rules, from
dictionaries built in one pass over the relationships; build one per routing call,
since a structure may be edited between calls.
"""

from __future__ import annotations

from collections import deque

from allied_c2.alliance.model import Relation, Structure


class CommandGraph:
    """Structure's chain-of-command queries, answered the same way from an index
    (tests/analysis/test_routing_graph.py compares them on every organisation of the
    shipped scenarios)."""

    __slots__ = (
        "_ancestors",
        "_chains",
        "_children",
        "_counterparts",
        "_parents",
        "_superiors",
        "structure",
    )

    def __init__(self, structure: Structure) -> None:
        self.structure = structure
        self._parents: dict[str, dict[Relation, str]] = {}  # by relation; the last one wins
        self._superiors: dict[str, list[str]] = {}  # every command superior, in order
        self._children: dict[str, list[str]] = {}
        self._counterparts: dict[str, list[str]] = {}
        self._chains: dict[str, list[str]] = {}
        self._ancestors: dict[str, dict[str, int]] = {}
        for rel in structure.relationships:
            if rel.relation in _COMMAND:
                self._parents.setdefault(rel.subordinate, {})[rel.relation] = rel.superior
                self._superiors.setdefault(rel.subordinate, []).append(rel.superior)
                self._children.setdefault(rel.superior, []).append(rel.subordinate)
            elif rel.relation is Relation.COUNTERPART:
                self._counterparts.setdefault(rel.superior, []).append(rel.subordinate)
                if rel.subordinate != rel.superior:
                    self._counterparts.setdefault(rel.subordinate, []).append(rel.superior)

    def command_parent(self, org_id: str) -> str | None:
        parents = self._parents.get(org_id, {})
        for relation in _PREFERENCE:
            if relation in parents:
                return parents[relation]
        return None

    def chain_of_command(self, org_id: str) -> list[str]:
        chain = self._chains.get(org_id)
        if chain is None:
            chain = [org_id]
            seen = {org_id}
            parent = self.command_parent(org_id)
            while parent is not None and parent not in seen:
                chain.append(parent)
                seen.add(parent)
                parent = self.command_parent(parent)
            self._chains[org_id] = chain
        return chain

    def children(self, org_id: str) -> list[str]:
        return self._children.get(org_id, [])

    def counterparts(self, org_id: str) -> list[str]:
        return self._counterparts.get(org_id, [])

    def ancestors(self, org_id: str) -> dict[str, int]:
        """Every command ancestor by any command relation, with its distance."""
        found = self._ancestors.get(org_id)
        if found is None:
            found = {org_id: 0}
            queue = deque([org_id])
            while queue:
                current = queue.popleft()
                for parent in self._superiors.get(current, ()):
                    if parent not in found:
                        found[parent] = found[current] + 1
                        queue.append(parent)
            self._ancestors[org_id] = found
        return found


_COMMAND = frozenset(r for r in Relation if r.is_command)
_PREFERENCE = (Relation.OPCON, Relation.COCOM, Relation.TACON, Relation.ADCON)

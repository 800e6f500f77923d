"""The loaded command structure as each caller may see it.

Every organisation record carries a marking (its own, or the scenario's
default). A caller sees the organisations whose marking the release decision
lets through, the relationships between two organisations it sees, and the
decision authorities whose every named organisation (decider, forces, the
delegating commander) it sees: a rule that names a hidden organisation would
reveal it. Anything whose marking cannot be parsed is hidden (fail closed).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from allied_c2.alliance.model import Exercise, Organisation, Structure
from allied_c2.alliance.routing import authority_to_dict
from allied_c2.security.decision import Decision
from allied_c2.security.display import marking_json
from allied_c2.security.markings import Marking, MarkingError, parse_banner
from allied_c2.security.policy import SecurityPolicy
from allied_c2.security.principals import Principal

Decide = Callable[[Marking, Principal], Decision]
MULTINATIONAL = "MULTI"


def record_marking(org: Organisation, structure: Structure, policy: SecurityPolicy) -> Marking:
    """An organisation record's marking, originated by the organisation's nation.

    Bilateral bodies (nation ``MULTI``) have no single originator: the marking's
    own scheme decides (a US-scheme banner is owned by the USA).
    """
    banner = org.marking or structure.default_marking
    nation = None if org.nation == MULTINATIONAL else org.nation
    return parse_banner(banner, policy, strict=False).with_originator(nation)


class StructureReleases:
    """A structure with each record's parsed marking, filtered per caller."""

    def __init__(self, structure: Structure, policy: SecurityPolicy) -> None:
        self.structure = structure
        self.policy = policy
        self.markings: dict[str, Marking | None] = {}
        for org in structure.organisations.values():
            try:
                self.markings[org.id] = record_marking(org, structure, policy)
            except MarkingError:
                self.markings[org.id] = None

    def may_see(self, org_id: str, principal: Principal, decide: Decide) -> bool:
        marking = self.markings.get(org_id)
        return marking is not None and decide(marking, principal).allowed

    def visible_ids(self, principal: Principal, decide: Decide) -> set[str]:
        return {oid for oid in self.structure.organisations if self.may_see(oid, principal, decide)}

    def filtered(self, principal: Principal, decide: Decide) -> tuple[Structure, list[Marking]]:
        """The part of the structure ``principal`` may see, and the markings it is made of."""
        source = self.structure
        seen = self.visible_ids(principal, decide)
        organisations = {oid: org for oid, org in source.organisations.items() if oid in seen}
        relationships = [
            r for r in source.relationships if r.superior in seen and r.subordinate in seen
        ]
        authorities = [
            a
            for a in source.authorities
            if a.decider in seen
            and all(f in seen for f in a.forces)
            and (a.delegated_from is None or a.delegated_from in seen)
        ]
        exercise = source.exercise
        if exercise is not None:
            exercise = _filtered_exercise(exercise, seen)
        view = replace(
            source,
            organisations=organisations,
            relationships=relationships,
            authorities=authorities,
            request_kinds=dict(source.request_kinds),
            parameters=dict(source.parameters),
            exercise=exercise,
        )
        markings = [m for oid in sorted(seen) if (m := self.markings[oid]) is not None]
        return view, markings


def _filtered_exercise(exercise: Exercise, seen: set[str]) -> Exercise:
    return replace(
        exercise,
        positions=tuple(p for p in exercise.positions if p.org in seen),
        workload=tuple(
            replace(w, originators=tuple(o for o in w.originators if o in seen))
            for w in exercise.workload
        ),
    )


def organisation_json(
    org: Organisation, structure: Structure, marking: Marking | None
) -> dict[str, Any]:
    hours = org.duty_hours
    return {
        "id": org.id,
        "name": org.name,
        "native_name": org.native_name,
        "nation": org.nation,
        "kind": org.kind.value,
        "echelon": org.echelon,
        "timezone": org.timezone,
        "location": {"lat": org.location.lat, "lon": org.location.lon} if org.location else None,
        "commander_grade": org.commander_grade,
        "sidc": org.sidc,
        "strength": org.strength,
        "synthetic": org.synthetic,
        "duty_hours": {
            "start_hour": hours.start_hour,
            "end_hour": hours.end_hour,
            "weekdays": list(hours.weekdays),
            "always": hours.always,
        },
        "parent": structure.command_parent(org.id),
        "marking": marking_json(marking) if marking else None,
    }


def structure_json(view: Structure, releases: StructureReleases, banner: str) -> dict[str, Any]:
    """A filtered structure (from :meth:`StructureReleases.filtered`) as API JSON."""
    return {
        "name": view.name,
        "description": view.description,
        "banner": banner,
        "parameters": dict(view.parameters),
        "organisations": [
            organisation_json(org, view, releases.markings.get(org.id))
            for org in view.organisations.values()
        ],
        "relationships": [
            {
                "superior": r.superior,
                "subordinate": r.subordinate,
                "relation": r.relation.value,
                "note": r.note,
            }
            for r in view.relationships
        ],
        "authorities": [authority_to_dict(a) for a in view.authorities],
        "request_kinds": [
            {
                "id": k.id,
                "title": k.title,
                "bilateral": k.bilateral,
                "default_hours_per_hop": k.default_hours_per_hop,
            }
            for k in view.request_kinds.values()
        ],
    }

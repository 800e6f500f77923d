"""Who decides a request, who reviews it on the way, and who must concur.

The rule (documented in docs/analysis.md, "Routing"):

* **Authority.** Among the structure's decision authorities for the request's
  kind and the originator's nation, those whose ``forces`` contain the originator
  in their command subtree match (empty ``forces`` covers the whole nation). The
  most specific wins: the one whose force organisation is the nearest command
  ancestor of the originator; a nation-wide rule is least specific; ties go to
  the rule listed first in the scenario.
* **Hops.** The request climbs the originator's chain of command to the decider.
  If the decider is not in that chain, it climbs to the nearest common superior
  and goes down the decider's chain (skipping that superior when it is the one
  who delegated the authority); with no common superior it goes direct.
  ``hops`` lists every organisation that holds it in turn, the decider last (the
  originator is not a hop; an originator that is its own decider has one hop).
* **Coordination.** For a bilateral kind (the rule's ``consult_counterpart`` or the
  kind's ``bilateral`` flag) each counterpart of the decider (or, when it has
  none, of its nearest command subordinates that have one) opens a leg: the
  counterpart forwards up its own chain to the organisation that holds the same
  kind of authority in its nation (found by the same rule), which concurs; with
  no such rule the counterpart concurs itself.

A :class:`Route` is a snapshot: it carries the time zones, duty hours and
command superiors the lifecycle needs, so an in-flight request keeps its rules
when the structure is edited.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from allied_c2.alliance.model import (
    DecisionAuthority,
    DutyHours,
    RequestKind,
    Structure,
)
from allied_c2.alliance.requests import DecisionRequest
from allied_c2.alliance.routing_graph import CommandGraph


class RoutingError(ValueError):
    """No route exists; the message names the request kind, nation and what to fix."""


@dataclass(frozen=True, slots=True)
class OfficeInfo:
    """What the lifecycle needs to know about an organisation on a route."""

    id: str
    name: str
    nation: str
    timezone: str
    duty_hours: DutyHours = field(default_factory=DutyHours)

    def to_dict(self) -> dict[str, Any]:
        dh = self.duty_hours
        return {
            "id": self.id,
            "name": self.name,
            "nation": self.nation,
            "timezone": self.timezone,
            "duty_hours": {
                "start_hour": dh.start_hour,
                "end_hour": dh.end_hour,
                "weekdays": list(dh.weekdays),
                "always": dh.always,
            },
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> OfficeInfo:
        dh = data.get("duty_hours") or {}
        return cls(
            id=str(data["id"]),
            name=str(data["name"]),
            nation=str(data["nation"]),
            timezone=str(data["timezone"]),
            duty_hours=DutyHours(
                start_hour=int(dh.get("start_hour", 8)),
                end_hour=int(dh.get("end_hour", 18)),
                weekdays=tuple(int(d) for d in dh.get("weekdays", (0, 1, 2, 3, 4))),
                always=bool(dh.get("always", False)),
            ),
        )


@dataclass(frozen=True, slots=True)
class CoordinationLeg:
    counterpart: str  # the decider's counterpart, first to receive the leg
    path: tuple[str, ...]  # counterpart first, the concurring organisation last
    concur_hours: float  # the concurring organisation's allowance (duty hours)

    @property
    def concurring(self) -> str:
        return self.path[-1]

    def to_dict(self) -> dict[str, Any]:
        return {
            "counterpart": self.counterpart,
            "path": list(self.path),
            "concur_hours": self.concur_hours,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CoordinationLeg:
        return cls(str(data["counterpart"]), tuple(data["path"]), float(data["concur_hours"]))


@dataclass(frozen=True, slots=True)
class Route:
    kind: str
    originator: str
    authority: DecisionAuthority
    hops: tuple[str, ...]  # holders in order, the decider last
    legs: tuple[CoordinationLeg, ...] = ()
    review_hours: float = RequestKind("", "").default_hours_per_hop
    offices: Mapping[str, OfficeInfo] = field(default_factory=dict)
    superiors: Mapping[str, str] = field(default_factory=dict)  # org -> command superior
    direct: bool = False  # the decider is outside the originator's chain of command

    @property
    def decider(self) -> str:
        return self.authority.decider

    @property
    def decision_hours(self) -> float:
        return self.authority.max_hours

    @property
    def bilateral(self) -> bool:
        return bool(self.legs)

    @property
    def counterparts(self) -> tuple[str, ...]:
        return tuple(leg.counterpart for leg in self.legs)

    @property
    def reviewers(self) -> tuple[str, ...]:
        return self.hops[:-1]

    @property
    def path(self) -> tuple[str, ...]:
        """Originator, reviewers, decider (the originator once if it decides itself)."""
        return self.hops if self.hops[0] == self.originator else (self.originator, *self.hops)

    def office(self, org_id: str) -> OfficeInfo:
        return self.offices[org_id]

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "originator": self.originator,
            "authority": authority_to_dict(self.authority),
            "hops": list(self.hops),
            "legs": [leg.to_dict() for leg in self.legs],
            "review_hours": self.review_hours,
            "offices": {k: v.to_dict() for k, v in self.offices.items()},
            "superiors": dict(self.superiors),
            "direct": self.direct,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Route:
        return cls(
            kind=str(data["kind"]),
            originator=str(data["originator"]),
            authority=authority_from_dict(data["authority"]),
            hops=tuple(data["hops"]),
            legs=tuple(CoordinationLeg.from_dict(leg) for leg in data.get("legs", ())),
            review_hours=float(data["review_hours"]),
            offices={k: OfficeInfo.from_dict(v) for k, v in data["offices"].items()},
            superiors={str(k): str(v) for k, v in data.get("superiors", {}).items()},
            direct=bool(data.get("direct", False)),
        )


def authority_to_dict(a: DecisionAuthority) -> dict[str, Any]:
    return {
        "request_kind": a.request_kind,
        "nation": a.nation,
        "decider": a.decider,
        "forces": list(a.forces),
        "consult_counterpart": a.consult_counterpart,
        "delegated_from": a.delegated_from,
        "max_hours": a.max_hours,
    }


def authority_from_dict(data: Mapping[str, Any]) -> DecisionAuthority:
    return DecisionAuthority(
        request_kind=str(data["request_kind"]),
        nation=str(data["nation"]),
        decider=str(data["decider"]),
        forces=tuple(data.get("forces", ())),
        consult_counterpart=bool(data.get("consult_counterpart", False)),
        delegated_from=data.get("delegated_from"),
        max_hours=float(data.get("max_hours", 24.0)),
    )


def route(structure: Structure, request: DecisionRequest) -> Route:
    """The route of ``request`` through ``structure``; raises :class:`RoutingError`."""
    return route_for(structure, request.kind, request.originator)


def route_for(
    structure: Structure, kind: str, originator: str, graph: CommandGraph | None = None
) -> Route:
    """The route for a request of ``kind`` from ``originator`` (see the module rule).

    ``graph``, a :class:`CommandGraph` of this very structure (not edited since), saves
    callers routing many requests through one structure from indexing it each time.
    """
    if originator not in structure.organisations:
        raise RoutingError(f"unknown originating organisation {originator!r}")
    if graph is None or graph.structure is not structure:
        graph = CommandGraph(structure)
    authority = _find_authority(graph, kind, originator)
    if authority.decider not in structure.organisations:
        raise RoutingError(
            f"the {kind} rule for {authority.nation} names decider {authority.decider!r}, "
            "which is not an organisation in the structure"
        )
    path, direct = _path(graph, originator, authority.decider, authority.delegated_from)
    hops = tuple(path[1:]) or (originator,)
    request_kind = structure.request_kinds.get(kind, RequestKind(kind, kind))
    bilateral = authority.consult_counterpart or request_kind.bilateral
    legs = _legs(graph, kind, authority) if bilateral else ()
    finals = [authority.decider, *(leg.concurring for leg in legs)]
    superiors: dict[str, str] = {}
    for org_id in {*hops, *finals, *(o for leg in legs for o in leg.path)}:
        chain = graph.chain_of_command(org_id)
        superiors.update(pairwise(chain))
    members = {originator, *hops, *superiors, *superiors.values()}
    members.update(o for leg in legs for o in leg.path)
    offices = {m: _office(structure, m) for m in sorted(members)}
    return Route(
        kind=kind,
        originator=originator,
        authority=authority,
        hops=hops,
        legs=legs,
        review_hours=request_kind.default_hours_per_hop,
        offices=offices,
        superiors=superiors,
        direct=direct,
    )


def command_ancestors(structure: Structure, org_id: str) -> dict[str, int]:
    """Every organisation whose command subtree holds ``org_id``, with its distance
    (0 for ``org_id`` itself); follows all command parents, not just the preferred one."""
    return dict(CommandGraph(structure).ancestors(org_id))


def find_authority(structure: Structure, kind: str, originator: str) -> DecisionAuthority:
    """The most specific rule for ``kind`` covering ``originator`` (module rule)."""
    return _find_authority(CommandGraph(structure), kind, originator)


def _find_authority(graph: CommandGraph, kind: str, originator: str) -> DecisionAuthority:
    structure = graph.structure
    nation = structure.org(originator).nation
    same_kind = [a for a in structure.authorities if a.request_kind == kind]
    if not same_kind:
        known = sorted({a.request_kind for a in structure.authorities})
        raise RoutingError(
            f"no decision authority for request kind {kind!r} in structure "
            f"{structure.name!r}; kinds with rules: {', '.join(known) or 'none'}"
        )
    candidates = [a for a in same_kind if a.nation == nation]
    if not candidates:
        nations = sorted({a.nation for a in same_kind})
        raise RoutingError(
            f"no {kind} authority for nation {nation} (originator {originator}); "
            f"rules exist for {', '.join(nations)} - add a rule with nation: {nation}"
        )
    ancestors = graph.ancestors(originator)
    best: tuple[float, DecisionAuthority] | None = None
    for rule in candidates:
        if rule.forces:
            reach = [ancestors[f] for f in rule.forces if f in ancestors]
            if not reach:
                continue
            specificity: float = min(reach)
        else:
            specificity = float("inf")
        if best is None or specificity < best[0]:
            best = (specificity, rule)
    if best is None:
        covered = sorted({f for a in candidates for f in a.forces})
        raise RoutingError(
            f"no {kind} authority covers {originator} ({nation}): the {nation} rules cover "
            f"only the forces of {', '.join(covered)}; add {originator} or a superior to a "
            "rule's forces, or a nation-wide rule (empty forces)"
        )
    return best[1]


def _path(
    graph: CommandGraph, originator: str, decider: str, delegated_from: str | None = None
) -> tuple[list[str], bool]:
    up = graph.chain_of_command(originator)
    if decider in up:
        return up[: up.index(decider) + 1], False
    down = graph.chain_of_command(decider)
    for i, org_id in enumerate(up):
        if org_id in down:
            j = down.index(org_id)
            # A commander who delegated the authority has handed it down: the request
            # passes from its subordinate chain to the delegate without it.
            top = i if org_id == delegated_from and i > 0 else i + 1
            return up[:top] + list(reversed(down[:j])), False
    return [originator, decider], True


def _legs(
    graph: CommandGraph, kind: str, authority: DecisionAuthority
) -> tuple[CoordinationLeg, ...]:
    structure = graph.structure
    counterparts = _nearest_counterparts(graph, authority.decider)
    if not counterparts:
        raise RoutingError(
            f"{kind} is bilateral but neither its decider {authority.decider} nor any "
            f"organisation under it has a counterpart; add a COUNTERPART relationship"
        )
    legs: list[CoordinationLeg] = []
    seen: set[str] = set()
    for counterpart in counterparts:
        if counterpart not in structure.organisations:
            raise RoutingError(f"counterpart {counterpart!r} of {authority.decider} is unknown")
        try:
            rule: DecisionAuthority | None = _find_authority(graph, kind, counterpart)
        except RoutingError:
            rule = None  # no rule in that nation: the counterpart concurs on its own
        if rule is None or rule.decider not in structure.organisations:
            path, hours = [counterpart], authority.max_hours
        else:
            path, _ = _path(graph, counterpart, rule.decider)
            hours = rule.max_hours
        if path[-1] in seen or path[-1] == authority.decider:
            continue
        seen.add(path[-1])
        legs.append(CoordinationLeg(counterpart, tuple(path), hours))
    return tuple(legs)


def _nearest_counterparts(graph: CommandGraph, decider: str) -> list[str]:
    """The decider's counterparts; failing that, those of its nearest subordinates that
    have any (INDOPACOM coordinates with JJOC through its JFHQ)."""
    level = [decider]
    seen = {decider}
    while level:
        found = [c for org_id in level for c in graph.counterparts(org_id)]
        if found:
            return list(dict.fromkeys(found))
        level = [c for org_id in level for c in graph.children(org_id) if c not in seen]
        seen.update(level)
    return []


def _office(structure: Structure, org_id: str) -> OfficeInfo:
    org = structure.org(org_id)
    return OfficeInfo(org.id, org.name, org.nation, org.timezone, org.duty_hours)

"""The alliance as data: organisations, command relationships, decision authorities.

This module is the contract the rest of ``alliance/`` and ``analysis/`` build on.
It imports nothing from the server or the database.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum


class OrgKind(StrEnum):
    NATIONAL_AUTHORITY = "national_authority"
    COMBATANT_COMMAND = "combatant_command"
    JOINT_COMMAND = "joint_command"
    JOINT_FORCE_HQ = "joint_force_hq"
    COMPONENT = "component"
    UNIT = "unit"
    COORDINATION_BODY = "coordination_body"


class Relation(StrEnum):
    """Command and support relationships; values are C2SIM relation codes where
    C2SIM has one (SISO-STD-019-2020), so interchange names need no mapping."""

    COCOM = "COCOM"  # combatant command (US title 10); no C2SIM code, kept verbatim
    OPCON = "OPCON"
    TACON = "TACCNT"
    ADCON = "ADMCON"
    DIRECT_SUPPORT = "DIRSUP"
    GENERAL_SUPPORT = "GENSUP"
    COORDINATION = "COORD"  # coordination only (e.g. ACM bodies); no command authority
    COUNTERPART = "COUNTERPART"  # between nations, always mutual

    @property
    def is_command(self) -> bool:
        """Relations that form a national chain of command (parent over child)."""
        return self in (Relation.COCOM, Relation.OPCON, Relation.TACON, Relation.ADCON)


class Urgency(StrEnum):
    ROUTINE = "routine"
    PRIORITY = "priority"
    URGENT = "urgent"  # acted on outside duty hours


@dataclass(frozen=True, slots=True)
class Location:
    lat: float
    lon: float


@dataclass(frozen=True, slots=True)
class DutyHours:
    """Local office hours in the organisation's time zone; urgent requests ignore them."""

    start_hour: int = 8
    end_hour: int = 18
    weekdays: tuple[int, ...] = (0, 1, 2, 3, 4)  # Monday = 0; a 24/7 watch lists all seven
    always: bool = False  # a 24/7 operations centre


@dataclass(frozen=True, slots=True)
class Organisation:
    id: str
    name: str
    nation: str  # ISO 3166-1 alpha-3; "MULTI" for bilateral coordination bodies
    kind: OrgKind
    echelon: str  # e.g. "command", "corps", "division", "brigade", "battalion", "fleet"
    timezone: str  # IANA name, e.g. "Asia/Tokyo"
    location: Location | None = None
    native_name: str | None = None
    commander_grade: str | None = None  # "O-9", "O-10", "civilian"
    sidc: str | None = None  # MIL-STD-2525 (letter or number form)
    strength: int | None = None
    duty_hours: DutyHours = field(default_factory=DutyHours)
    synthetic: bool = False  # invented detail, not public fact
    marking: str | None = None  # banner marking of this record; None = scenario default


@dataclass(frozen=True, slots=True)
class Relationship:
    superior: str  # organisation id (for COUNTERPART: one side)
    subordinate: str  # organisation id (for COUNTERPART: the other side)
    relation: Relation
    note: str | None = None


@dataclass(frozen=True, slots=True)
class DecisionAuthority:
    """Which organisation decides which kind of request for which forces.

    ``forces`` names the organisations whose forces the rule covers (the rule
    applies to requests originating anywhere in those subtrees); empty means the
    whole national chain of ``nation``. ``delegated_from`` records that the
    authority was delegated (e.g. INDOPACOM → JFHQ), which scenarios vary.
    ``consult_counterpart`` makes the request bilateral: the decider's
    counterpart must concur before approval.
    """

    request_kind: str
    nation: str
    decider: str  # organisation id
    forces: tuple[str, ...] = ()
    consult_counterpart: bool = False
    delegated_from: str | None = None
    max_hours: float = 24.0  # time the decider is given before escalation


@dataclass(frozen=True, slots=True)
class RequestKind:
    id: str  # "bilateral_exercise_change"
    title: str
    bilateral: bool = False
    default_hours_per_hop: float = 4.0


@dataclass(frozen=True, slots=True)
class UnitPosition:
    """Exercise data: where a unit starts, when it is not at its home base."""

    org: str
    location: Location
    label: str | None = None


@dataclass(frozen=True, slots=True)
class WorkloadHint:
    """Exercise data: how often a kind of request arises, and from whom."""

    request_kind: str
    per_day: float
    originators: tuple[str, ...] = ()
    urgent_share: float = 0.0


@dataclass(frozen=True, slots=True)
class Exercise:
    """Optional exercise data a scenario carries alongside its structure."""

    name: str
    start: str | None = None  # ISO 8601 UTC, e.g. "2025-11-03T00:00:00Z"
    description: str = ""
    positions: tuple[UnitPosition, ...] = ()
    workload: tuple[WorkloadHint, ...] = ()


@dataclass(slots=True)
class Structure:
    """A whole command structure: what a scenario file loads into."""

    name: str
    description: str = ""
    default_marking: str = "UNCLASSIFIED"
    organisations: dict[str, Organisation] = field(default_factory=dict)
    relationships: list[Relationship] = field(default_factory=list)
    authorities: list[DecisionAuthority] = field(default_factory=list)
    request_kinds: dict[str, RequestKind] = field(default_factory=dict)
    parameters: dict[str, object] = field(default_factory=dict)
    exercise: Exercise | None = None

    def org(self, org_id: str) -> Organisation:
        return self.organisations[org_id]

    def relations_of(self, org_id: str) -> Iterator[Relationship]:
        for rel in self.relationships:
            if org_id in (rel.superior, rel.subordinate):
                yield rel

    def command_parent(self, org_id: str) -> str | None:
        """The national command superior (OPCON preferred over ADCON/COCOM/TACON)."""
        order = (Relation.OPCON, Relation.COCOM, Relation.TACON, Relation.ADCON)
        parents = {
            r.relation: r.superior
            for r in self.relationships
            if r.subordinate == org_id and r.relation.is_command
        }
        for relation in order:
            if relation in parents:
                return parents[relation]
        return None

    def children(self, org_id: str) -> list[str]:
        return [
            r.subordinate
            for r in self.relationships
            if r.superior == org_id and r.relation.is_command
        ]

    def counterparts(self, org_id: str) -> list[str]:
        out: list[str] = []
        for r in self.relationships:
            if r.relation is Relation.COUNTERPART:
                if r.superior == org_id:
                    out.append(r.subordinate)
                elif r.subordinate == org_id:
                    out.append(r.superior)
        return out

    def chain_of_command(self, org_id: str) -> list[str]:
        """``org_id`` and its command superiors up to the top, nearest first."""
        chain = [org_id]
        seen = {org_id}
        parent = self.command_parent(org_id)
        while parent is not None and parent not in seen:
            chain.append(parent)
            seen.add(parent)
            parent = self.command_parent(parent)
        return chain

    def subtree(self, org_id: str) -> list[str]:
        """``org_id`` and everything under it in the command tree."""
        out: list[str] = []
        stack = [org_id]
        seen: set[str] = set()
        while stack:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            out.append(current)
            stack.extend(self.children(current))
        return out

"""Unit readiness reports (SORTS/DRRS style) and their roll-up through a structure.

A report rates four resource areas 1 (best) to 4: P personnel, S equipment and
supplies on hand, R equipment condition, T training. The computed C-level is the
worst area; C-5 only when the unit is flagged as undergoing a service-directed
resource action. The commander may assess a different level (1-4, or 5 with the
flag) but must say why. Roll-up rule and staleness: docs/analysis.md, "Readiness".
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from allied_c2.alliance.model import OrgKind, Structure
from allied_c2.alliance.requests import parse_instant

AREAS = ("P", "S", "R", "T")
AREA_NAMES = {
    "P": "personnel",
    "S": "equipment and supplies on hand",
    "R": "equipment condition",
    "T": "training",
}


class ReadinessError(ValueError):
    """A report is invalid; ``problems`` lists every reason, the message joins them."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class MetRating(StrEnum):
    YES = "Y"
    QUALIFIED = "Q"
    NO = "N"


@dataclass(frozen=True, slots=True)
class MetAssessment:
    task: str  # mission-essential task, e.g. "Conduct amphibious raid"
    rating: MetRating


@dataclass(frozen=True, slots=True)
class StalenessPolicy:
    """A report is stale once older than ``period`` (SORTS: at least monthly), or once
    ``change_grace`` has passed since a change flagged for the unit after it (SORTS:
    report within 24 hours of a change)."""

    period: timedelta = timedelta(days=30)
    change_grace: timedelta = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class ReadinessReport:
    unit: str  # organisation id
    p: int
    s: int
    r: int
    t: int
    reported_at: datetime
    marking: str  # banner string; readiness data is itself classified
    assessed_level: int | None = None  # commander's C-level when it differs
    reason: str = ""  # mandatory when assessed_level differs from the computed level
    mets: tuple[MetAssessment, ...] = ()
    resource_action: bool = False  # service-directed resource action: C-5

    def __post_init__(self) -> None:
        problems = self.problems()
        if problems:
            raise ReadinessError(problems)

    def problems(self) -> list[str]:
        out: list[str] = []
        if not self.unit:
            out.append("unit must not be empty")
        for area, value in zip(AREAS, self.areas(), strict=True):
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 4:
                out.append(f"{area} ({AREA_NAMES[area]}) must be 1-4, got {value!r}")
        if self.reported_at.tzinfo is None:
            out.append("reported_at must be timezone-aware")
        if not self.marking:
            out.append("marking must not be empty (readiness data is classified)")
        if self.assessed_level is not None:
            if not 1 <= self.assessed_level <= 5:
                out.append(f"assessed C-level must be 1-5, got {self.assessed_level}")
            elif self.assessed_level == 5 and not self.resource_action:
                out.append("C-5 is only for a unit under a service-directed resource action")
            elif self.resource_action and self.assessed_level != 5:
                out.append("a unit under a service-directed resource action is C-5")
            elif not out and self.assessed_level != self.computed_level and not self.reason:
                out.append(
                    f"assessed C-{self.assessed_level} differs from computed "
                    f"C-{self.computed_level}: the commander must give a reason"
                )
        tasks = [m.task for m in self.mets]
        for task, count in Counter(tasks).items():
            if count > 1:
                out.append(f"mission-essential task {task!r} is assessed {count} times")
        if any(not m.task for m in self.mets):
            out.append("a mission-essential task has no name")
        return out

    def areas(self) -> tuple[int, int, int, int]:
        return (self.p, self.s, self.r, self.t)

    @property
    def computed_level(self) -> int:
        return 5 if self.resource_action else max(self.areas())

    @property
    def level(self) -> int:
        """The reported overall C-level: the commander's if assessed, else computed."""
        return self.assessed_level if self.assessed_level is not None else self.computed_level

    def is_stale(
        self,
        now: datetime,
        policy: StalenessPolicy | None = None,
        change_flagged_at: datetime | None = None,
    ) -> bool:
        policy = policy or StalenessPolicy()
        if now - self.reported_at > policy.period:
            return True
        return (
            change_flagged_at is not None
            and change_flagged_at > self.reported_at
            and now - change_flagged_at > policy.change_grace
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "unit": self.unit,
            "P": self.p,
            "S": self.s,
            "R": self.r,
            "T": self.t,
            "computed_level": self.computed_level,
            "assessed_level": self.assessed_level,
            "level": self.level,
            "reason": self.reason,
            "mets": [{"task": m.task, "rating": m.rating.value} for m in self.mets],
            "resource_action": self.resource_action,
            "reported_at": self.reported_at.isoformat(),
            "marking": self.marking,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ReadinessReport:
        """Parse a plain dict (API body or JSON), collecting every problem."""
        problems: list[str] = []
        missing = [
            k for k in ("unit", "P", "S", "R", "T", "reported_at", "marking") if k not in data
        ]
        if missing:
            raise ReadinessError([f"missing field {name!r}" for name in missing])
        mets: list[MetAssessment] = []
        for item in data.get("mets") or ():
            try:
                mets.append(MetAssessment(str(item["task"]), MetRating(item["rating"])))
            except (KeyError, TypeError, ValueError):
                problems.append(f"mission-essential task {item!r} needs a task and a rating Y/Q/N")
        try:
            reported_at = parse_instant(data["reported_at"], "reported_at")
        except ValueError as exc:
            problems.append(str(exc))
        assessed = data.get("assessed_level")
        if assessed is not None and (isinstance(assessed, bool) or not isinstance(assessed, int)):
            problems.append(f"assessed C-level must be an integer 1-5, got {assessed!r}")
        if problems:
            raise ReadinessError(problems)
        return cls(
            unit=str(data["unit"]),
            p=data["P"],
            s=data["S"],
            r=data["R"],
            t=data["T"],
            reported_at=reported_at,
            marking=str(data["marking"]),
            assessed_level=assessed,
            reason=str(data.get("reason") or ""),
            mets=tuple(mets),
            resource_action=bool(data.get("resource_action", False)),
        )


@dataclass(frozen=True, slots=True)
class AreaSummary:
    worst: int
    mean: float


@dataclass(frozen=True, slots=True)
class Rollup:
    scope: str  # organisation id, or "nation:JPN"
    expected: tuple[str, ...]  # units expected to report (OrgKind.UNIT in scope)
    reported: tuple[str, ...]  # units with a current report
    missing: tuple[str, ...]
    stale: tuple[str, ...]
    levels: Mapping[int, int]  # C-level -> number of units (1..5 always present)
    worst_level: int | None
    worst_units: tuple[str, ...]
    share_c1_c2: float | None  # of reporting units
    areas: Mapping[str, AreaSummary] = field(default_factory=dict)
    mets: Mapping[str, int] = field(default_factory=dict)  # Y/Q/N -> count
    assessed_differs: int = 0  # units whose commander changed the computed level
    markings: tuple[str, ...] = ()  # banners of the reports used; the combined marking is
    # theirs to compute by the marking rules (security package), not here

    def to_dict(self) -> dict[str, Any]:
        return {
            "scope": self.scope,
            "expected": len(self.expected),
            "reported": len(self.reported),
            "missing": list(self.missing),
            "stale": list(self.stale),
            "levels": {f"C-{k}": v for k, v in sorted(self.levels.items())},
            "worst_level": self.worst_level,
            "worst_units": list(self.worst_units),
            "share_c1_c2": self.share_c1_c2,
            "areas": {k: {"worst": v.worst, "mean": v.mean} for k, v in self.areas.items()},
            "mets": dict(self.mets),
            "assessed_differs": self.assessed_differs,
            "markings": list(self.markings),
        }


def latest_reports(reports: Iterable[ReadinessReport], now: datetime) -> dict[str, ReadinessReport]:
    """Each unit's newest report at ``now`` (reports dated after ``now`` are ignored)."""
    latest: dict[str, ReadinessReport] = {}
    for report in reports:
        if report.reported_at > now:
            continue
        current = latest.get(report.unit)
        if current is None or report.reported_at > current.reported_at:
            latest[report.unit] = report
    return latest


def rollup(
    structure: Structure,
    reports: Iterable[ReadinessReport],
    org_id: str,
    now: datetime,
    policy: StalenessPolicy | None = None,
    changes: Mapping[str, datetime] | None = None,
) -> Rollup:
    """Readiness of ``org_id``'s command subtree (``org_id`` included)."""
    if org_id not in structure.organisations:
        raise KeyError(f"unknown organisation {org_id!r}")
    return _summarise(structure, org_id, structure.subtree(org_id), reports, now, policy, changes)


def rollup_by_nation(
    structure: Structure,
    reports: Iterable[ReadinessReport],
    now: datetime,
    policy: StalenessPolicy | None = None,
    changes: Mapping[str, datetime] | None = None,
) -> dict[str, Rollup]:
    """One roll-up per nation over every organisation of that nation."""
    reports = list(reports)
    nations = sorted({o.nation for o in structure.organisations.values()})
    out: dict[str, Rollup] = {}
    for nation in nations:
        scope = [o.id for o in structure.organisations.values() if o.nation == nation]
        out[nation] = _summarise(
            structure, f"nation:{nation}", scope, reports, now, policy, changes
        )
    return out


def _summarise(
    structure: Structure,
    scope_name: str,
    scope: list[str],
    reports: Iterable[ReadinessReport],
    now: datetime,
    policy: StalenessPolicy | None,
    changes: Mapping[str, datetime] | None,
) -> Rollup:
    members = set(scope)
    latest = {u: r for u, r in latest_reports(reports, now).items() if u in members}
    expected = sorted(
        u for u in members if structure.organisations[u].kind is OrgKind.UNIT or u in latest
    )
    reported = sorted(latest)
    changes = changes or {}
    stale = [u for u in reported if latest[u].is_stale(now, policy, changes.get(u))]
    levels = dict.fromkeys(range(1, 6), 0)
    levels.update(Counter(r.level for r in latest.values()))
    worst = max((r.level for r in latest.values()), default=None)
    areas: dict[str, AreaSummary] = {}
    if latest:
        for i, area in enumerate(AREAS):
            values = [r.areas()[i] for r in latest.values()]
            areas[area] = AreaSummary(max(values), round(sum(values) / len(values), 2))
    mets = {rating.value: 0 for rating in MetRating}
    mets.update(Counter(m.rating.value for r in latest.values() for m in r.mets))
    good = sum(1 for r in latest.values() if r.level <= 2)
    return Rollup(
        scope=scope_name,
        expected=tuple(expected),
        reported=tuple(reported),
        missing=tuple(u for u in expected if u not in latest),
        stale=tuple(stale),
        levels=levels,
        worst_level=worst,
        worst_units=tuple(u for u in reported if latest[u].level == worst),
        share_c1_c2=round(good / len(latest), 4) if latest else None,
        areas=areas,
        mets=mets,
        assessed_differs=sum(
            1 for r in latest.values() if r.assessed_level not in (None, r.computed_level)
        ),
        markings=tuple(sorted({r.marking for r in latest.values()})),
    )

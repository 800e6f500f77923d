"""Readiness reports served: validated, persisted, audited, rolled up per caller.

Each report carries a marking (readiness is classified data). A caller sees
the reports the release decision lets through, and roll-ups are computed only
over those and only over the organisations whose records it may see, so a
roll-up never reveals, even as a count, a report or a unit it could not read.
Rules: docs/decisions.md, "Readiness".
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from allied_c2.alliance.clock import Clock
from allied_c2.alliance.model import Structure
from allied_c2.alliance.readiness import (
    ReadinessError,
    ReadinessReport,
    Rollup,
    StalenessPolicy,
    rollup,
    rollup_by_nation,
)
from allied_c2.security.display import marking_json
from allied_c2.security.markings import Marking, MarkingError, marking_to_cot, parse_banner
from allied_c2.security.markings import rollup as rollup_markings
from allied_c2.security.principals import Principal
from allied_c2.server.alliance_context import AllianceContext
from allied_c2.server.decisions import unavailable
from allied_c2.server.request_rules import (
    DecisionError,
    loaded_structure,
    raises_release,
    require_acting_for,
    sender_marking,
)
from allied_c2.server.structure import StructureReleases
from allied_c2.store.readiness import ReadinessRecord, ReadinessStore

log = logging.getLogger("allied_c2.readiness")

REPORT_ROLES = ("operator", "commander")
FILTER_NOTE = "computed only over the reports and organisations releasable to the caller"


def readiness_record(
    report: ReadinessReport,
    data: dict[str, Any],
    marking: Marking,
    at: datetime,
    created_by: str,
) -> ReadinessRecord:
    """The row to store for ``report`` under ``marking`` (``data``: the report as kept)."""
    access, caveat, releasable = marking_to_cot(marking)
    return ReadinessRecord(
        id=0,
        unit=report.unit,
        level=report.level,
        reported_at=report.reported_at,
        banner=marking.banner(),
        access=access,
        caveat=caveat,
        releasable_to=releasable,
        originator_nation=marking.originator,
        created_at=at,
        created_by=created_by,
        report=data,
    )


@dataclass(frozen=True, slots=True)
class Entry:
    record: ReadinessRecord
    report: ReadinessReport
    marking: Marking | None  # None: the stored marking no longer parses; shown to nobody


def _level(value: int | None) -> str | None:
    return f"C-{value}" if value is not None else None


class ReadinessService:
    def __init__(
        self,
        context: AllianceContext,
        store: ReadinessStore,
        staleness: StalenessPolicy | None = None,
    ) -> None:
        self.structure = context.structure
        self.store = store
        self.hub = context.hub
        self.policy = context.policy
        self.audit = context.audit
        self.clock: Clock = context.clock
        self.releases = context.releases
        self.staleness = staleness or StalenessPolicy()
        self._entries: list[Entry] | None = None
        # Federation: told of every report posted here (after it is stored and audited).
        self.observers: list[Callable[[Entry], None]] = []

    @property
    def entries(self) -> list[Entry]:
        if self._entries is None:
            self._entries = [e for r in self.store.all() if (e := self._entry(r)) is not None]
        return self._entries

    def _entry(self, record: ReadinessRecord) -> Entry | None:
        try:
            report = ReadinessReport.from_dict(record.report)
        except ReadinessError as exc:
            log.error("readiness report %d cannot be restored: %s", record.id, exc)
            return None
        try:
            marking: Marking | None = parse_banner(
                record.banner, self.policy, strict=False
            ).with_originator(record.originator_nation)
        except MarkingError:
            marking = None
        return Entry(record, report, marking)

    def _may_see(self, entry: Entry, principal: Principal) -> bool:
        return (
            entry.marking is not None and self.hub.audience.public(entry.marking, principal).allowed
        )

    def _require_structure(self) -> tuple[Structure, StructureReleases]:
        return loaded_structure(self.structure, self.releases)

    # -- posting ------------------------------------------------------------------

    def post(self, principal: Principal, body: Mapping[str, Any]) -> Entry:
        try:
            return self._post(principal, body)
        except DecisionError as exc:
            self.audit(
                principal.callsign,
                "readiness.refused",
                str(body.get("unit") or "-"),
                {"status": exc.status, "reason": exc.reason, "marking": str(body.get("marking"))},
            )
            raise

    def _post(self, principal: Principal, body: Mapping[str, Any]) -> Entry:
        structure, releases = self._require_structure()
        if not any(principal.has_role(r) for r in REPORT_ROLES):
            raise DecisionError(403, "reporting readiness needs the operator or commander role")
        unit = str(body.get("unit") or "")
        decide = self.hub.audience.public
        if not releases.may_see(unit, principal, decide):
            raise DecisionError(422, f"unknown unit {unit!r}")
        require_acting_for(principal, unit, structure)
        floor = releases.markings[unit]
        assert floor is not None  # may_see passed
        banner = str(body.get("marking") or floor.banner())
        marking = sender_marking(banner, principal, self.policy)
        if raises_release(marking, floor, self.policy):
            raise DecisionError(422, f"a report on {unit} must be marked at least {floor.banner()}")
        now = self.clock.now()
        try:
            report = ReadinessReport.from_dict(_report_data(body, unit, marking.banner(), now))
        except ReadinessError as exc:
            raise DecisionError(422, str(exc)) from None
        entries = self.entries  # loaded first, or the new row would be loaded and appended
        try:
            # Stored before the caller or any view is told: no acknowledged phantom.
            record = self.store.add(
                readiness_record(report, report.to_dict(), marking, now, principal.callsign)
            )
        except SQLAlchemyError as exc:
            raise unavailable(exc) from None
        entry = Entry(record, report, marking)
        entries.append(entry)
        self.audit(
            principal.callsign,
            "readiness.report",
            unit,
            {
                "id": record.id,
                "level": report.level,
                "computed": report.computed_level,
                "reported_at": report.reported_at.isoformat(),
                "marking": marking.banner(),
            },
        )
        self.hub.notify_views({"kind": "readiness", "report": self.report_json(entry)}, marking)
        for observer in self.observers:
            observer(entry)
        return entry

    def receive(self, record: ReadinessRecord, by: Principal) -> Entry | None:
        """A report a federate released to this server (federation/alliance.py): stored,
        audited, shown under its marking; None when it is held already (a resend)."""
        entries = self.entries
        for known in entries:
            held = known.record
            if (held.unit, held.reported_at, held.created_by) == (
                record.unit,
                record.reported_at,
                record.created_by,
            ):
                return None
        parsed = self._entry(record)
        if parsed is None or parsed.marking is None:
            return None
        try:
            entry = Entry(self.store.add(record), parsed.report, parsed.marking)
        except SQLAlchemyError as exc:
            raise unavailable(exc) from None
        entries.append(entry)
        detail = {"id": entry.record.id, "level": record.level, "marking": record.banner}
        self.audit(by.callsign, "readiness.received", record.unit, detail)
        self.hub.notify_views(
            {"kind": "readiness", "report": self.report_json(entry)}, parsed.marking
        )
        return entry

    def refreshed(self, record: ReadinessRecord) -> Entry | None:
        """A report another node of the cluster stored: held and shown, not audited
        again (that node did). None when it is held already or cannot be read."""
        loaded = self._entries is not None
        entries = self.entries  # loaded now if not yet: with this report in it
        entry = next((e for e in entries if e.record.id == record.id), None)
        if entry is not None and loaded:
            return None
        if entry is None:
            entry = self._entry(record)
            if entry is None:
                return None
            entries.append(entry)
        if entry.marking is not None:
            self.hub.notify_views(
                {"kind": "readiness", "report": self.report_json(entry)}, entry.marking
            )
        return entry

    # -- reading ------------------------------------------------------------------

    def latest(self, principal: Principal, now: datetime | None = None) -> list[Entry]:
        """Each unit's newest report that ``principal`` may see, on a unit it may see."""
        now = now or self.clock.now()
        seen = self._visible_orgs(principal)
        latest: dict[str, Entry] = {}
        for entry in self.entries:
            report = entry.report
            if report.reported_at > now or report.unit not in seen:
                continue
            if not self._may_see(entry, principal):
                continue
            current = latest.get(report.unit)
            if current is None or report.reported_at >= current.report.reported_at:
                latest[report.unit] = entry
        return [latest[unit] for unit in sorted(latest)]

    def _visible_orgs(self, principal: Principal) -> set[str]:
        if self.releases is None:
            return set()
        return self.releases.visible_ids(principal, self.hub.audience.public)

    def report_json(self, entry: Entry, now: datetime | None = None) -> dict[str, Any]:
        report = entry.report
        org = self.structure.organisations.get(report.unit) if self.structure else None
        marking = entry.marking
        return {
            "id": entry.record.id,
            "unit": report.unit,
            "unit_name": org.name if org else None,
            "nation": org.nation if org else None,
            "p": report.p,
            "s": report.s,
            "r": report.r,
            "t": report.t,
            "computed": _level(report.computed_level),
            "assessed": _level(report.assessed_level),
            "level": _level(report.level),
            "reason": report.reason or None,
            "resource_action": report.resource_action,
            "mets": [{"task": m.task, "rating": m.rating.value} for m in report.mets],
            "reported_at": report.reported_at.isoformat(),
            "reported_by": entry.record.created_by,
            "stale": report.is_stale(now or self.clock.now(), self.staleness),
            "marking": marking_json(marking) if marking else None,
        }

    def rollup(self, principal: Principal, org_id: str) -> dict[str, Any]:
        structure, releases = self._require_structure()
        decide = self.hub.audience.public
        if not releases.may_see(org_id, principal, decide):
            raise DecisionError(404, f"unknown organisation {org_id!r}")
        view, _ = releases.filtered(principal, decide)
        now = self.clock.now()
        used = self.latest(principal, now)
        result = rollup(view, [e.report for e in used], org_id, now, self.staleness)
        out = self._rollup_json(result, used)
        out["org"] = org_id
        out["name"] = structure.organisations[org_id].name
        return out

    def rollup_by_nation(self, principal: Principal) -> dict[str, Any]:
        _, releases = self._require_structure()
        view, _ = releases.filtered(principal, self.hub.audience.public)
        now = self.clock.now()
        used = self.latest(principal, now)
        results = rollup_by_nation(view, [e.report for e in used], now, self.staleness)
        nations = {n: self._rollup_json(r, used) for n, r in results.items()}
        shown = {u for r in results.values() for u in r.reported}
        return {
            "by": "nation",
            "nations": nations,
            "banner": self._banner(used, shown),
            "filtered": True,
            "note": FILTER_NOTE,
        }

    def _banner(self, used: list[Entry], units: set[str]) -> str:
        markings = [e.marking for e in used if e.report.unit in units and e.marking is not None]
        return rollup_markings(markings, self.policy).banner()

    def _rollup_json(self, result: Rollup, used: list[Entry]) -> dict[str, Any]:
        return {
            "scope": result.scope,
            "units": len(result.expected),
            "reported": len(result.reported),
            "stale": len(result.stale),
            "missing": len(result.missing),
            "stale_units": list(result.stale),
            "missing_units": list(result.missing),
            "by_level": {f"C-{k}": v for k, v in sorted(result.levels.items())},
            "worst": _level(result.worst_level),
            "worst_units": list(result.worst_units),
            "share_c1_c2": result.share_c1_c2,
            "areas": {k: {"worst": v.worst, "mean": v.mean} for k, v in result.areas.items()},
            "mets": dict(result.mets),
            "assessed_differs": result.assessed_differs,
            "banner": self._banner(used, set(result.reported)),
            "filtered": True,
            "note": FILTER_NOTE,
        }


def _report_data(body: Mapping[str, Any], unit: str, banner: str, now: datetime) -> dict[str, Any]:
    """The API body (lower- or upper-case areas, ``assessed`` as ``C-2``) in the domain's form."""
    data: dict[str, Any] = {"unit": unit, "marking": banner}
    for area in ("P", "S", "R", "T"):
        if area in body or area.lower() in body:
            data[area] = body.get(area, body.get(area.lower()))
    data["reported_at"] = body.get("reported_at") or now.isoformat()
    assessed = body.get("assessed_level", body.get("assessed"))
    if isinstance(assessed, str) and assessed.upper().startswith("C-"):
        level = assessed[2:]
        assessed = int(level) if level.isdigit() else assessed
    data["assessed_level"] = assessed
    data["reason"] = body.get("reason") or ""
    data["mets"] = body.get("mets") or []
    data["resource_action"] = bool(body.get("resource_action", False))
    return data

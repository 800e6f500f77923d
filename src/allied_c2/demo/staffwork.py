"""What the demo's staff do: decision requests and their handling, readiness reports.

Pure data and a timeline builder; :mod:`allied_c2.demo.staff` performs it over
the HTTP API with each principal's own token, so routing, authorisation,
release rules and the audit trail are the server's real ones. The plan leaves
requests in several states (approved, denied, returned, in coordination, in
review) so the board has something in each column, and some waiting for the
person trying the demo to act on them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from allied_c2.demo.geo import Point
from allied_c2.demo.motion import NOFORN, REL_BILATERAL, REL_TRILATERAL, UNCLASSIFIED
from allied_c2.demo.places import APARRI, LAOAG, TUGUEGARAO


@dataclass(frozen=True, slots=True)
class PlannedAction:
    after_s: float  # wall-clock seconds after the request was filed
    by: str  # callsign acting (for its organisation)
    action: str  # approve, deny, forward, return, concur, nonconcur, comment
    reason: str = ""


@dataclass(frozen=True, slots=True)
class PlannedRequest:
    at_s: float  # wall-clock seconds after the demo starts
    by: str  # callsign filing it
    kind: str
    originator: str  # organisation id
    subject: str
    marking: str
    needed_in: timedelta
    urgency: str = "routine"
    where: Point | None = None
    actions: tuple[PlannedAction, ...] = ()

    def body(self, now: datetime) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": self.kind,
            "originator": self.originator,
            "subject": self.subject,
            "marking": self.marking,
            "urgency": self.urgency,
            "needed_by": (now + self.needed_in).isoformat(),
        }
        if self.where is not None:
            body["lat"], body["lon"] = self.where.lat, self.where.lon
        return body


REQUESTS = (
    PlannedRequest(
        3.0,
        "AFP-TF-OPS",
        "airlift_disaster_relief",
        "afp_hadr_tf",
        "Airlift 40 t of relief goods and water purification units Clark to Tuguegarao",
        REL_TRILATERAL.banner,
        timedelta(hours=6),
        urgency="urgent",
        where=TUGUEGARAO,
        actions=(
            PlannedAction(4.0, "AFP-CDR", "approve", "Approved; US and JSDF lift requested"),
            PlannedAction(7.0, "INDOPACOM-CDR", "concur", "Two C-130J sorties from Yokota"),
            PlannedAction(10.0, "JJOC-CDR", "concur", "C-2 and C-130H from the Clark detachment"),
        ),
    ),
    PlannedRequest(
        4.0,
        "JSDF-HADR-OPS",
        "isr_support",
        "jsdf_hadr",
        "Damage imagery of the Aparri coast before the Osumi lands relief stores",
        REL_TRILATERAL.banner,
        timedelta(hours=12),
        urgency="priority",
        where=APARRI,
        actions=(
            PlannedAction(4.0, "JJOC-CDR", "approve", "Approved for the relief landing"),
            PlannedAction(8.0, "USFJ-CDR", "concur", "P-8A track over the strait can cover it"),
        ),
    ),
    PlannedRequest(
        5.0,
        "JSDF-HADR-OPS",
        "bilateral_exercise_change",
        "jsdf_hadr",
        "Move the JSDF medical exercise serial from Clark to Santiago City",
        REL_TRILATERAL.banner,
        timedelta(hours=48),
        actions=(
            PlannedAction(
                6.0, "JJOC-CDR", "return", "Re-plan once the highway at Dalton Pass reopens"
            ),
        ),
    ),
    PlannedRequest(
        6.0,
        "USFJ-OPS",
        "isr_support",
        "usfj",
        "JMSDF P-1 coverage of the Babuyan Channel for US search and rescue",
        REL_BILATERAL.banner,
        timedelta(hours=8),
        where=Point(19.0, 121.5),
        actions=(
            PlannedAction(3.0, "USFJ-CDR", "approve", "Needed for the rescue window"),
            PlannedAction(
                7.0, "JJOC-CDR", "nonconcur", "P-1 committed east of the Babuyans until 18:00"
            ),
        ),
    ),
    PlannedRequest(
        7.0,
        "AFP-TF-OPS",
        "airlift_disaster_relief",
        "afp_hadr_tf",
        "Second lift: a field hospital module and medical supplies Villamor to Laoag",
        UNCLASSIFIED.banner,
        timedelta(hours=18),
        urgency="priority",
        where=LAOAG,
    ),
    PlannedRequest(
        8.0,
        "USFJ-OPS",
        "logistics_support",
        "usfj",
        "Resupply of the liaison team in Cagayan",
        NOFORN.banner,
        timedelta(hours=36),
    ),
)


@dataclass(frozen=True, slots=True)
class PlannedReport:
    by: str  # callsign posting it
    unit: str  # organisation id
    p: int
    s: int
    r: int
    t: int
    marking: str
    age: timedelta = timedelta(hours=2)
    assessed_level: int | None = None
    reason: str = ""
    mets: tuple[tuple[str, str], ...] = ()

    def body(self, now: datetime) -> dict[str, Any]:
        return {
            "unit": self.unit,
            "P": self.p,
            "S": self.s,
            "R": self.r,
            "T": self.t,
            "reported_at": (now - self.age).isoformat(),
            "marking": self.marking,
            "assessed_level": self.assessed_level,
            "reason": self.reason,
            "mets": [{"task": task, "rating": rating} for task, rating in self.mets],
        }


STALE = timedelta(days=40)  # past the 30-day reporting period
HADR = "Conduct foreign humanitarian assistance"
LIFT = "Conduct tactical airlift"
MED = "Provide health service support"
US_RB = REL_BILATERAL.banner
TRI = REL_TRILATERAL.banner

READINESS = (
    PlannedReport("INDOPACOM-CDR", "31meu", 1, 2, 2, 1, US_RB, mets=((HADR, "Y"), (MED, "Q"))),
    PlannedReport("INDOPACOM-CDR", "374aw", 1, 1, 2, 1, US_RB, mets=((LIFT, "Y"),)),
    PlannedReport(
        "INDOPACOM-CDR",
        "1maw",
        2,
        2,
        3,
        2,
        US_RB,
        assessed_level=2,
        reason="MV-22 availability restored by the depot team this morning",
        mets=((LIFT, "Q"),),
    ),
    PlannedReport("INDOPACOM-CDR", "3mlg", 1, 2, 1, 1, US_RB, mets=((HADR, "Y"),)),
    PlannedReport("INDOPACOM-CDR", "18wg", 1, 1, 1, 2, US_RB, age=STALE),
    PlannedReport("INDOPACOM-CDR", "jsotf_j", 2, 1, 1, 1, NOFORN.banner),
    PlannedReport("JJOC-CDR", "jsdf_hadr", 1, 2, 1, 1, TRI, mets=((MED, "Y"), (HADR, "Q"))),
    PlannedReport("JJOC-CDR", "1tag", 1, 1, 2, 1, US_RB, mets=((LIFT, "Y"),)),
    PlannedReport("JJOC-CDR", "ardb", 2, 2, 2, 1, US_RB),
    PlannedReport("JJOC-CDR", "15bde", 1, 2, 2, 2, US_RB, age=STALE),
    PlannedReport("AFP-CDR", "7id", 2, 3, 2, 2, TRI, mets=((HADR, "Q"),)),
    PlannedReport("AFP-CDR", "afp_hadr_tf", 1, 2, 2, 1, TRI, mets=((HADR, "Y"), (MED, "Q"))),
    PlannedReport("AFP-CDR", "paf_clark", 2, 2, 3, 1, TRI, mets=((LIFT, "Q"),)),
    PlannedReport("AFP-CDR", "nolcom", 1, 2, 2, 2, TRI),
)
READINESS_AT_S = 2.0


@dataclass(order=True, frozen=True, slots=True)
class Step:
    """One thing a staff member does at ``at_s`` seconds into the demo."""

    at_s: float
    order: int
    what: str = field(compare=False)  # "file", "act" or "report"
    request: int | None = field(default=None, compare=False)  # index into the request plan
    action: PlannedAction | None = field(default=None, compare=False)
    report: PlannedReport | None = field(default=None, compare=False)


def timeline(
    requests: tuple[PlannedRequest, ...] = REQUESTS,
    reports: tuple[PlannedReport, ...] = READINESS,
) -> list[Step]:
    """Every step in time order (ties keep plan order)."""
    steps: list[Step] = []
    for report in reports:
        steps.append(Step(READINESS_AT_S, len(steps), "report", report=report))
    for index, request in enumerate(requests):
        steps.append(Step(request.at_s, len(steps), "file", request=index))
        for action in request.actions:
            at = request.at_s + action.after_s
            steps.append(Step(at, len(steps), "act", request=index, action=action))
    return sorted(steps)

"""The hop-by-hop timeline of one request, read back from its audit trail.

Works for any :class:`RequestMachine` (simulated or real): each holding is one
organisation holding the request from receipt to release, with the time it sat
waiting for the office to open and the duty hours it used. The critical lane is
the one whose release decided the request (the slowest coordination leg).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from allied_c2.alliance.dutyhours import duty_hours_between, next_opening, zone
from allied_c2.alliance.lifecycle import RequestMachine, State

_RELEASING = frozenset({"forward", "escalate", "approve", "deny", "return", "concur", "nonconcur"})


@dataclass(slots=True)
class Holding:
    org: str
    lane: int  # 0 = review chain; 1.. = coordination legs
    received_at: datetime
    released_at: datetime | None = None
    action: str = ""
    by_deadline: bool = False  # released by escalation, not by acting
    overdue: int = 0
    questions: int = 0  # clarifications asked of the decider while holding it
    wait_hours: float = 0.0  # office closed after receipt
    duty_hours: float = 0.0  # open office time while held
    critical: bool = False

    @property
    def elapsed_hours(self) -> float:
        if self.released_at is None:
            return 0.0
        return (self.released_at - self.received_at).total_seconds() / 3600


@dataclass(slots=True)
class Timeline:
    request_id: str
    kind: str
    originator: str
    urgent: bool
    submitted_at: datetime
    state: State
    decided_at: datetime | None
    holdings: list[Holding] = field(default_factory=list)
    zones: dict[str, str] = field(default_factory=dict)  # org -> IANA zone

    @property
    def hours_to_decision(self) -> float | None:
        if self.decided_at is None:
            return None
        return (self.decided_at - self.submitted_at).total_seconds() / 3600

    def to_local(self, org: str, at: datetime) -> datetime:
        """``at`` on ``org``'s wall clock (UTC for an organisation not on the route)."""
        name = self.zones.get(org)
        return at.astimezone(zone(name)) if name else at

    def to_dict(self) -> dict[str, Any]:
        def when(org: str, at: datetime | None) -> str | None:
            return self.to_local(org, at).isoformat() if at is not None else None

        return {
            "request_id": self.request_id,
            "kind": self.kind,
            "originator": self.originator,
            "urgent": self.urgent,
            "submitted_at": self.submitted_at.isoformat(),
            "state": self.state.value,
            "decided_at": self.decided_at.isoformat() if self.decided_at else None,
            "hours_to_decision": _round(self.hours_to_decision),
            "holdings": [
                {
                    "org": h.org,
                    "timezone": self.zones.get(h.org),
                    "lane": h.lane,
                    "received_local": when(h.org, h.received_at),
                    "released_local": when(h.org, h.released_at),
                    "action": h.action,
                    "by_deadline": h.by_deadline,
                    "overdue": h.overdue,
                    "questions": h.questions,
                    "wait_hours": round(h.wait_hours, 2),
                    "duty_hours": round(h.duty_hours, 2),
                    "elapsed_hours": round(h.elapsed_hours, 2),
                    "critical": h.critical,
                }
                for h in self.holdings
            ],
        }


def _round(value: float | None) -> float | None:
    return round(value, 2) if value is not None else None


def timeline(machine: RequestMachine) -> Timeline:
    """Every holding of ``machine``'s request, in order of receipt."""
    route = machine.route
    out = Timeline(
        request_id=machine.id,
        kind=machine.request.kind,
        originator=machine.request.originator,
        urgent=machine.request.urgent,
        submitted_at=machine.request.submitted_at,
        state=machine.state,
        decided_at=machine.decided_at,
        zones={k: v.timezone for k, v in route.offices.items()},
    )
    open_: dict[str, Holding] = {}
    lanes = 0

    def start(org: str, lane: int, at: datetime) -> None:
        holding = Holding(org, lane, at)
        out.holdings.append(holding)
        open_[org] = holding

    def release(org: str, at: datetime, action: str, by_deadline: bool) -> Holding | None:
        holding = open_.pop(org, None)
        if holding is not None:
            holding.released_at, holding.action, holding.by_deadline = at, action, by_deadline
        return holding

    last: Holding | None = None
    for step in machine.trail:
        if step.action == "route":
            start(step.holders[0], 0, step.at)
        elif step.action == "comment" and step.actor in open_:
            open_[step.actor].questions += 1
        elif step.action == "overdue":
            for holding in open_.values():
                holding.overdue += 1
        elif step.action in ("forward", "escalate"):
            src, dst = step.detail["from"], step.detail["to"]
            released = release(src, step.at, step.action, step.actor != src)
            start(dst, released.lane if released else 0, step.at)
        elif step.action == "withdraw":
            for org in list(open_):
                last = release(org, step.at, "withdrawn", False)
        elif step.action in _RELEASING:
            last = release(step.actor, step.at, step.action, False)
            if step.to_state is State.COORDINATION:
                for org in step.holders:
                    lanes += 1
                    start(org, lanes, step.at)
    for holding in out.holdings:
        office = route.offices.get(holding.org)
        end = holding.released_at
        if office is None or end is None:
            continue
        if not machine.request.urgent:
            opened = min(next_opening(office, holding.received_at), end)
            holding.wait_hours = (opened - holding.received_at).total_seconds() / 3600
            holding.duty_hours = duty_hours_between(office, holding.received_at, end)
        else:
            holding.duty_hours = holding.elapsed_hours
    critical_lane = last.lane if last is not None else 0
    for holding in out.holdings:
        holding.critical = holding.lane in (0, critical_lane)
    return out

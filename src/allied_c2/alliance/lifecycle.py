"""The life of a decision request as a sans-I/O state machine on an injected clock.

    submitted -> in_review (one hop at a time) -> coordination (bilateral kinds)
              -> approved | denied | returned          (and withdrawn at any time)

Actions come in as (action, actor organisation, reason); time comes in through
``tick``. Every accepted input returns the :class:`Step` records it caused, each of
which is also appended to the audit trail; an input that is not allowed returns
a :class:`Refused` with the reason and changes nothing. No I/O, no system clock:
the server persists ``to_dict()`` and calls ``tick`` at ``next_deadline()``; the
what-if simulator does the same on a virtual clock.

Rules (docs/analysis.md, "Request lifecycle"):

* Only the holder acts: the hop that has it in review, or during coordination the
  holder of a counterpart leg. The originator may ``withdraw``; anyone on the
  route may ``comment``. Reviewers ``forward`` or ``return``; the decider
  ``approve``s, ``deny``s or ``return``s; a leg's last organisation ``concur``s or
  ``nonconcur``s, earlier ones ``forward``. Deny, return, nonconcur and withdraw
  need a reason.
* A holder's deadline is its allowance (the rule's ``max_hours`` for the decider
  and concurring organisations, the kind's ``default_hours_per_hop`` for others)
  counted in the holder's duty hours from when it received the request; URGENT
  requests count wall-clock hours.
* When a deadline passes (or the holder ``escalate``s): a late reviewer is
  bypassed and the request moves to the next hop; a late decider or concurring
  organisation loses the request to its command superior, which takes over the
  authority with the same allowance. At the top of a chain the deadline is
  re-armed and an ``overdue`` step recorded. Escalation steps are stamped with
  the deadline that caused them, so late ``tick`` calls give the same trail.
* Approval of a bilateral request opens coordination: every leg runs in
  parallel; all concur -> approved; one nonconcurrence -> denied.
* Terminal states are final; any action on them is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from allied_c2.alliance.clock import Clock
from allied_c2.alliance.dutyhours import add_duty_hours
from allied_c2.alliance.requests import (
    Accepted,
    Action,
    DecisionRequest,
    Outcome,
    Refused,
    State,
    Step,
    parse_instant,
)
from allied_c2.alliance.routing import Route

__all__ = [
    "Accepted",
    "Action",
    "Outcome",
    "Refused",
    "RequestMachine",
    "State",
    "Step",
    "Track",
]

SYSTEM = "system"
MIN_HOURS = 1 / 60  # an allowance of 0 would re-arm a deadline at the same instant forever


_NEEDS_REASON = frozenset(
    {Action.DENY, Action.RETURN, Action.NONCONCUR, Action.WITHDRAW, Action.COMMENT}
)


@dataclass(slots=True)
class Track:
    """Orgs the request moves along: the review chain, or one coordination leg."""

    path: list[str]
    index: int
    final_hours: float
    received_at: datetime
    deadline: datetime
    concurred: bool = False

    @property
    def holder(self) -> str:
        return self.path[self.index]

    @property
    def at_final(self) -> bool:
        return self.index == len(self.path) - 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": list(self.path),
            "index": self.index,
            "final_hours": self.final_hours,
            "received_at": self.received_at.isoformat(),
            "deadline": self.deadline.isoformat(),
            "concurred": self.concurred,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Track:
        return cls(
            path=list(data["path"]),
            index=int(data["index"]),
            final_hours=float(data["final_hours"]),
            received_at=parse_instant(data["received_at"], "received_at"),
            deadline=parse_instant(data["deadline"], "deadline"),
            concurred=bool(data.get("concurred", False)),
        )


class RequestMachine:
    """One request's lifecycle. Create with :meth:`submit` or :meth:`from_dict`."""

    def __init__(
        self,
        request: DecisionRequest,
        route: Route,
        clock: Clock,
        review: Track,
        state: State = State.IN_REVIEW,
        legs: list[Track] | None = None,
        trail: list[Step] | None = None,
        decided_at: datetime | None = None,
    ) -> None:
        self.request = request
        self.route = route
        self.clock = clock
        self.review = review
        self.state = state
        self.legs = legs or []
        self.trail = trail or []
        self.decided_at = decided_at

    # -- creation and persistence ------------------------------------------------

    @classmethod
    def submit(cls, request: DecisionRequest, route: Route, clock: Clock) -> RequestMachine:
        """A new request, delivered to its first hop at ``request.submitted_at``."""
        if route.originator != request.originator or route.kind != request.kind:
            raise ValueError("the route was computed for another originator or kind")
        at = request.submitted_at
        first = route.hops[0]
        placeholder = Track(list(route.hops), 0, route.decision_hours, at, at)
        machine = cls(request, route, clock, placeholder, State.SUBMITTED)
        machine._record(request.originator, "submit", None, State.SUBMITTED, at, request.subject)
        machine.review.deadline = machine._deadline(machine.review, at)
        machine.state = State.IN_REVIEW
        detail = {"to": first, "decider": route.decider, "deadline": _iso(machine.review.deadline)}
        if route.counterparts:
            detail["counterparts"] = ",".join(route.counterparts)
        machine._record(SYSTEM, "route", State.SUBMITTED, State.IN_REVIEW, at, "", detail)
        return machine

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": 1,
            "request": self.request.to_dict(),
            "route": self.route.to_dict(),
            "state": self.state.value,
            "review": self.review.to_dict(),
            "legs": [leg.to_dict() for leg in self.legs],
            "trail": [step.to_dict() for step in self.trail],
            "decided_at": _iso(self.decided_at) if self.decided_at else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], clock: Clock) -> RequestMachine:
        if data.get("version") != 1:
            raise ValueError(f"unsupported request machine version {data.get('version')!r}")
        decided = data.get("decided_at")
        return cls(
            request=DecisionRequest.from_dict(data["request"]),
            route=Route.from_dict(data["route"]),
            clock=clock,
            review=Track.from_dict(data["review"]),
            state=State(data["state"]),
            legs=[Track.from_dict(leg) for leg in data.get("legs", ())],
            trail=[Step.from_dict(s) for s in data.get("trail", ())],
            decided_at=parse_instant(decided, "decided_at") if decided else None,
        )

    # -- queries -----------------------------------------------------------------

    @property
    def id(self) -> str:
        return self.request.id

    def active_tracks(self) -> list[Track]:
        if self.state is State.IN_REVIEW:
            return [self.review]
        if self.state is State.COORDINATION:
            return [leg for leg in self.legs if not leg.concurred]
        return []

    @property
    def holders(self) -> tuple[str, ...]:
        return tuple(t.holder for t in self.active_tracks())

    def deadlines(self) -> dict[str, datetime]:
        return {t.holder: t.deadline for t in self.active_tracks()}

    def next_deadline(self) -> datetime | None:
        """When ``tick`` must next be called (None once the request is final)."""
        return min((t.deadline for t in self.active_tracks()), default=None)

    @property
    def decider(self) -> str:
        """The organisation currently holding the decision (changes on escalation)."""
        return self.review.path[-1]

    # -- inputs ------------------------------------------------------------------

    def tick(self, now: datetime | None = None) -> list[Step]:
        """Escalate every holder whose deadline is at or before ``now``."""
        now = self.clock.now() if now is None else now
        steps: list[Step] = []
        due_first = self.next_deadline()
        if due_first is None or due_first > now:
            return steps
        while True:
            due = [t for t in self.active_tracks() if t.deadline <= now]
            if not due:
                return steps
            track = min(due, key=lambda t: t.deadline)
            hours = self._hours(track)
            reason = f"{track.holder} did not act within {hours:g} duty hours"
            if self.request.urgent:
                reason = f"{track.holder} did not act within {hours:g} hours (urgent)"
            steps.extend(self._escalate(track, track.deadline, SYSTEM, reason))

    def act(self, action: Action | str, actor: str, reason: str = "") -> Outcome:
        """Apply ``action`` by organisation ``actor`` at the clock's current time."""
        try:
            action = Action(action)
        except ValueError:
            return Refused(self.id, actor, str(action), f"unknown action {action!r}")
        now = self.clock.now()
        steps = self.tick(now)  # a holder whose deadline passed no longer holds it
        refusal = self._check(action, actor, reason)
        if refusal is not None:
            return Refused(self.id, actor, action.value, refusal)
        steps.extend(self._apply(action, actor, reason.strip(), now))
        return Accepted(tuple(steps))

    # -- rules -------------------------------------------------------------------

    def _check(self, action: Action, actor: str, reason: str) -> str | None:
        if self.state.terminal:
            when = f" since {_iso(self.decided_at)}" if self.decided_at else ""
            return f"request {self.id} is {self.state.value}{when}; that is final"
        if action in _NEEDS_REASON and not reason.strip():
            return f"{action.value} needs a reason"
        if action is Action.WITHDRAW:
            if actor != self.request.originator:
                return f"only the originator {self.request.originator} may withdraw {self.id}"
            return None
        if action is Action.COMMENT:
            party = {self.request.originator, *self.review.path, *self.route.offices}
            party.update(o for leg in self.legs for o in leg.path)
            return None if actor in party else f"{actor} is not on the route of {self.id}"
        track = next((t for t in self.active_tracks() if t.holder == actor), None)
        if track is None:
            held = ", ".join(self.holders)
            return f"{actor} does not hold request {self.id} (held by {held})"
        if self.state is State.IN_REVIEW:
            return self._check_review(action, actor, track)
        return self._check_coordination(action, actor, track)

    def _check_review(self, action: Action, actor: str, track: Track) -> str | None:
        if action in (Action.CONCUR, Action.NONCONCUR):
            return f"request {self.id} is in review, not in coordination"
        if track.at_final and action is Action.FORWARD:
            return f"{actor} decides {self.id}: approve, deny, return or escalate"
        if not track.at_final and action in (Action.APPROVE, Action.DENY):
            return f"only the decider {self.decider} may {action.value}; {actor} reviews"
        if action is Action.ESCALATE and track.at_final and actor not in self.route.superiors:
            return f"{actor} has no superior to escalate to"
        return None

    def _check_coordination(self, action: Action, actor: str, track: Track) -> str | None:
        if action in (Action.APPROVE, Action.DENY, Action.RETURN):
            waiting = ", ".join(self.holders)
            return f"{self.id} is in coordination, awaiting {waiting}; counterparts concur"
        if track.at_final and action is Action.FORWARD:
            return f"{actor} concurs for its nation: concur or nonconcur"
        if not track.at_final and action in (Action.CONCUR, Action.NONCONCUR):
            return f"{actor} forwards to {track.path[-1]}, which concurs for its nation"
        if action is Action.ESCALATE and track.at_final and actor not in self.route.superiors:
            return f"{actor} has no superior to escalate to"
        return None

    def _apply(self, action: Action, actor: str, reason: str, now: datetime) -> list[Step]:
        state = self.state
        if action is Action.WITHDRAW:
            return [self._finish(actor, action, State.WITHDRAWN, now, reason)]
        if action is Action.COMMENT:
            return [self._record(actor, action, state, state, now, reason)]
        track = next(t for t in self.active_tracks() if t.holder == actor)
        if action is Action.ESCALATE:
            return self._escalate(track, now, actor, reason or f"escalated by {actor}")
        if action is Action.FORWARD:
            return [self._move(track, track.index + 1, now, actor, action, reason)]
        if action is Action.RETURN:
            return [self._finish(actor, action, State.RETURNED, now, reason)]
        if action is Action.DENY or action is Action.NONCONCUR:
            return [self._finish(actor, action, State.DENIED, now, reason)]
        if action is Action.APPROVE:
            if not self.route.legs:
                return [self._finish(actor, action, State.APPROVED, now, reason)]
            self.legs = [
                Track(list(leg.path), 0, leg.concur_hours, now, now) for leg in self.route.legs
            ]
            for leg in self.legs:
                leg.deadline = self._deadline(leg, now)
            self.state = State.COORDINATION
            detail = {f"deadline:{t.holder}": _iso(t.deadline) for t in self.legs}
            return [self._record(actor, action, state, State.COORDINATION, now, reason, detail)]
        # CONCUR
        track.concurred = True
        if self.active_tracks():
            return [self._record(actor, action, state, state, now, reason)]
        return [self._finish(actor, action, State.APPROVED, now, reason)]

    def _escalate(self, track: Track, at: datetime, actor: str, reason: str) -> list[Step]:
        if not track.at_final:
            return [self._move(track, track.index + 1, at, actor, Action.ESCALATE, reason)]
        superior = self.route.superiors.get(track.holder)
        if superior is None:
            track.received_at = at
            track.deadline = self._deadline(track, at)
            detail = {"deadline": _iso(track.deadline)}
            return [self._record(actor, "overdue", self.state, self.state, at, reason, detail)]
        track.path.append(superior)
        return [self._move(track, track.index + 1, at, actor, Action.ESCALATE, reason)]

    def _move(
        self, track: Track, index: int, at: datetime, actor: str, action: Action, reason: str
    ) -> Step:
        previous = track.holder
        track.index = index
        track.received_at = at
        track.deadline = self._deadline(track, at)
        detail = {"from": previous, "to": track.holder, "deadline": _iso(track.deadline)}
        return self._record(actor, action, self.state, self.state, at, reason, detail)

    def _finish(
        self, actor: str, action: Action, to_state: State, at: datetime, reason: str
    ) -> Step:
        from_state = self.state
        self.state = to_state
        self.decided_at = at
        return self._record(actor, action, from_state, to_state, at, reason)

    def _hours(self, track: Track) -> float:
        hours = track.final_hours if track.at_final else self.route.review_hours
        return max(hours, MIN_HOURS)

    def _deadline(self, track: Track, start: datetime) -> datetime:
        hours = self._hours(track)
        office = self.route.offices.get(track.holder)
        if self.request.urgent or office is None:
            return start + timedelta(hours=hours)
        return add_duty_hours(office, start, hours)

    def _record(
        self,
        actor: str,
        action: str,
        from_state: State | None,
        to_state: State,
        at: datetime,
        reason: str = "",
        detail: Mapping[str, str] | None = None,
    ) -> Step:
        step = Step(
            seq=len(self.trail) + 1,
            at=at,
            actor=actor,
            action=str(action),
            from_state=from_state,
            to_state=to_state,
            holders=self.holders,
            reason=reason,
            detail=dict(detail or {}),
        )
        self.trail.append(step)
        return step


def _iso(at: datetime | None) -> str:
    return at.isoformat() if at is not None else ""

"""Decision requests served: submitted, acted on, escalated on time, persisted, audited.

The lifecycle itself is :class:`~allied_c2.alliance.lifecycle.RequestMachine`
(sans-I/O); this service is its I/O shell. Every accepted input is written to
the database before the caller gets an answer, every transition and every
refusal goes to the audit log, and every change is announced as a CoT marker
(uid ``request-<id>``) and a ``{"kind": "request"}`` message to the web's live
views, both under the request's own marking so the release decision applies at
every exit. Deadlines run on the injected clock: one loop timer is armed for
the earliest deadline of all open requests and re-armed after each change.
Rules (who may submit, see, act): docs/decisions.md.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from allied_c2.alliance.clock import Clock
from allied_c2.alliance.lifecycle import SYSTEM, Accepted, Action, RequestMachine, Step
from allied_c2.alliance.requests import RequestError
from allied_c2.alliance.routing import RoutingError, route
from allied_c2.security.markings import Marking, MarkingError, marking_to_cot, parse_banner
from allied_c2.security.principals import Principal
from allied_c2.server.alliance_context import AllianceContext
from allied_c2.server.request_rules import (
    ACTION_ROLES,
    SUBMIT_ROLES,
    DecisionError,
    build_request,
    loaded_structure,
    not_entitled,
    parties,
    raises_release,
    require_acting_for,
    sender_marking,
)
from allied_c2.server.request_views import marker_event, request_json
from allied_c2.store.requests import RequestRecord, RequestStore, StaleWrite, request_id

log = logging.getLogger("allied_c2.decisions")

# The loop timer never sleeps longer than this, so a wall clock that jumps is noticed.
MAX_TIMER_SECONDS = 300.0
# A deadline step that could not be stored (database away) is retried this often.
RETRY_UNSTORED_SECONDS = 5.0
# Times an action is decided again on what is stored now when another node changed
# the request meanwhile (cluster, docs/scaling.md); then it is a conflict (409).
STALE_RETRIES = 3


def _always() -> bool:
    return True


# What a caller is told when the database cannot take a change (docs/reliability.md).
DATABASE_UNAVAILABLE = "the database is unavailable: nothing was stored; try again later"


def unavailable(exc: SQLAlchemyError) -> DecisionError:
    """A 503 for a change the database did not take: the caller must not think it did."""
    log.error("database unavailable, change refused: %s", str(exc).splitlines()[0])
    return DecisionError(503, DATABASE_UNAVAILABLE)


class ScaledClock:
    """Wall time that runs ``rate`` times faster from ``start`` (demos and tests).

    The service divides timer delays by ``rate``, so a four-hour deadline at
    rate 72000 fires after 0.2 real seconds.
    """

    def __init__(self, start: datetime, rate: float) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.start = start
        self.rate = rate
        self._origin = time.monotonic()

    def now(self) -> datetime:
        return self.start + timedelta(seconds=(time.monotonic() - self._origin) * self.rate)


# The ``created_by`` of a request held for another server (its home: the federate
# after the prefix). Its machine is the home server's; actions on it go there.
MIRROR_PREFIX = "fed:"


@dataclass
class Tracked:
    """One request held by the service: its machine, marking and stored row."""

    machine: RequestMachine
    marking: Marking | None  # None: the stored marking no longer parses; shown to nobody
    record: RequestRecord

    @property
    def mirrored(self) -> bool:
        """Held for another server (federation): no deadlines, no marker, acted on there."""
        return self.record.created_by.startswith(MIRROR_PREFIX)


def request_record(
    machine: RequestMachine,
    marking: Marking,
    *,
    seq: int,
    created_by: str,
    at: datetime,
    version: int = 1,
) -> RequestRecord:
    """The stored row of ``machine`` under ``marking``: a new request, or a mirror's copy."""
    request = machine.request
    access, caveat, releasable = marking_to_cot(marking)
    return RequestRecord(
        seq=seq,
        id=request.id,
        kind=request.kind,
        originator=request.originator,
        subject=request.subject,
        banner=marking.banner(),
        access=access,
        caveat=caveat,
        releasable_to=releasable,
        originator_nation=marking.originator,
        state=machine.state.value,
        holders=machine.holders,
        needed_by=request.needed_by,
        next_deadline=machine.next_deadline(),
        submitted_at=request.submitted_at,
        updated_at=at,
        created_by=created_by,
        machine=machine.to_dict(),
        version=version,
    )


# Federation (federation/alliance.py): an action on a mirrored request, sent to its home.
RemoteAct = Callable[[Tracked, Action, str, str, Principal], None]


class DecisionService:
    def __init__(self, context: AllianceContext, store: RequestStore) -> None:
        self.structure = context.structure
        self.store = store
        self.hub = context.hub
        self.policy = context.policy
        self.audit = context.audit
        self.clock: Clock = context.clock
        self.releases = context.releases
        self.requests: dict[str, Tracked] = {}
        self._loaded = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._unstored = False  # a deadline step is waiting for the database
        # Federation: told of every change (after it is stored and audited), and
        # the forwarder of actions on mirrored requests.
        self.observers: list[Callable[[Tracked, list[Step]], None]] = []
        self.remote: RemoteAct | None = None
        # Cluster (cluster/state.py): only the node holding the deadline lease runs
        # deadlines and escalations; a single server always does.
        self.runs_deadlines: Callable[[], bool] = _always

    # -- lifecycle of the service ----------------------------------------------

    def load(self) -> int:
        """Read every stored request back into a machine on this service's clock."""
        self.requests.clear()
        for record in self.store.all():
            try:
                machine = RequestMachine.from_dict(record.machine, self.clock)
            except (KeyError, ValueError) as exc:
                log.error("request %s cannot be restored: %s", record.id, exc)
                continue
            self.requests[record.id] = Tracked(machine, self._stored_marking(record), record)
        self._loaded = True
        return len(self.requests)

    async def start(self) -> None:
        """Reload, apply deadlines that passed while stopped, re-arm the timer, re-mark."""
        self._loop = asyncio.get_running_loop()
        if not self._loaded:
            count = self.load()
            if count:
                log.info("decision requests restored: %d", count)
        self.tick()
        for tracked in self.requests.values():
            if not tracked.machine.state.terminal and not tracked.mirrored:
                self._publish_marker(tracked)
        self._reschedule()

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._loop = None

    # -- queries ------------------------------------------------------------------

    def may_see(self, tracked: Tracked, principal: Principal) -> bool:
        marking = tracked.marking
        return marking is not None and self.hub.audience.public(marking, principal).allowed

    def visible(self, principal: Principal) -> list[Tracked]:
        return [t for t in self.requests.values() if self.may_see(t, principal)]

    def get(self, principal: Principal, rid: str) -> Tracked:
        tracked = self.requests.get(rid)
        if tracked is None or not self.may_see(tracked, principal):
            # Not 403: a caller who may not see a request must not learn that it exists.
            raise DecisionError(404, f"no request {rid}")
        return tracked

    def allowed_actions(self, principal: Principal, tracked: Tracked) -> list[str]:
        """The actions ``principal`` could take now, found by trying each on a copy."""
        machine = tracked.machine
        org = principal.organisation
        if org is None or machine.state.terminal or not self.may_see(tracked, principal):
            return []
        if org not in parties(machine):
            return []
        out: list[str] = []
        for action, roles in ACTION_ROLES.items():
            if not any(principal.has_role(r) for r in roles):
                continue
            trial = RequestMachine.from_dict(machine.to_dict(), self.clock)
            if trial.act(action, org, "check").ok:
                out.append(action.value)
        return out

    def as_json(self, tracked: Tracked, principal: Principal | None) -> dict[str, Any]:
        actions = self.allowed_actions(principal, tracked) if principal is not None else None
        return request_json(
            tracked.machine, tracked.marking, tracked.record, self.structure, actions
        )

    # -- inputs -------------------------------------------------------------------

    def submit(self, principal: Principal, body: Mapping[str, Any]) -> Tracked:
        try:
            return self._submit(principal, body)
        except DecisionError as exc:
            self.audit(
                principal.callsign,
                "request.submit_refused",
                str(body.get("originator") or "-"),
                {
                    "status": exc.status,
                    "reason": exc.reason,
                    "kind": str(body.get("kind")),
                    "marking": str(body.get("marking")),
                },
            )
            raise

    def _submit(self, principal: Principal, body: Mapping[str, Any]) -> Tracked:
        structure, releases = loaded_structure(self.structure, self.releases)
        if not any(principal.has_role(r) for r in SUBMIT_ROLES):
            raise DecisionError(403, "submitting a request needs the operator or commander role")
        originator = str(body.get("originator") or "")
        if not releases.may_see(originator, principal, self.hub.audience.public):
            raise DecisionError(422, f"unknown originating organisation {originator!r}")
        require_acting_for(principal, originator, structure)
        marking = self._submitted_marking(principal, body, originator)
        now = self.clock.now()
        try:
            seq = self.store.next_seq()
        except SQLAlchemyError as exc:
            raise unavailable(exc) from None
        try:
            request = build_request(request_id(seq), body, originator, marking.banner(), now)
            machine = RequestMachine.submit(request, route(structure, request), self.clock)
        except (RequestError, RoutingError) as exc:
            raise DecisionError(422, str(exc)) from None
        record = request_record(machine, marking, seq=seq, created_by=principal.callsign, at=now)
        try:
            self.store.insert(record)  # stored before anyone is told: no phantom request
        except SQLAlchemyError as exc:
            raise unavailable(exc) from None
        tracked = Tracked(machine, marking, record)
        self.requests[request.id] = tracked
        self._announce(tracked, machine.trail, principal)
        return tracked

    def _submitted_marking(
        self, principal: Principal, body: Mapping[str, Any], originator: str
    ) -> Marking:
        marking = sender_marking(str(body.get("marking") or ""), principal, self.policy)
        assert self.releases is not None
        record = self.releases.markings.get(originator)
        if record is not None and raises_release(marking, record, self.policy):
            # The marker sits at the originator's location and names it: the request
            # must be marked at least as its originator's record is.
            raise DecisionError(
                422, f"a request from {originator} must be marked at least {record.banner()}"
            )
        return marking

    def act(self, principal: Principal, rid: str, action: str, reason: str = "") -> Tracked:
        try:
            return self._act(principal, rid, action, reason)
        except DecisionError as exc:
            self.audit(
                principal.callsign,
                "request.action_refused",
                rid,
                {
                    "status": exc.status,
                    "reason": exc.reason,
                    "action": action,
                    "organisation": principal.organisation,
                },
            )
            raise

    def _act(self, principal: Principal, rid: str, action: str, reason: str) -> Tracked:
        tracked = self.get(principal, rid)
        try:
            chosen = Action(action)
        except ValueError:
            known = ", ".join(a.value for a in Action)
            raise DecisionError(422, f"unknown action {action!r}; one of {known}") from None
        roles = ACTION_ROLES[chosen]
        if not any(principal.has_role(r) for r in roles):
            raise DecisionError(403, f"{chosen.value} needs the {' or '.join(roles)} role")
        org = principal.organisation
        if org is None:
            raise DecisionError(403, f"{principal.callsign} belongs to no organisation")
        return self._apply(tracked, chosen, org, reason, principal)

    def act_for(self, by: Principal, org: str, rid: str, action: str, reason: str) -> Tracked:
        """An action a federate's user took for ``org``, an organisation held on that
        federate's server (federation/alliance.py checked that); ``by`` is the federate."""
        tracked = self.get(by, rid)  # 404 unless the request is releasable to the federate
        if tracked.mirrored:
            raise DecisionError(409, f"{rid} is held by another server")
        try:
            chosen = Action(action)
        except ValueError:
            raise DecisionError(422, f"unknown action {action!r}") from None
        return self._apply(tracked, chosen, org, reason, by)

    def _apply(
        self, tracked: Tracked, chosen: Action, org: str, reason: str, principal: Principal
    ) -> Tracked:
        for _ in range(STALE_RETRIES):
            try:
                return self._apply_once(tracked, chosen, org, reason, principal)
            except StaleWrite:
                # Another node stored a change since this one read the request: decide
                # again on what is stored now (the action may no longer apply: 409).
                tracked = self._reload(tracked.record.id)
        raise DecisionError(409, f"{tracked.record.id} keeps changing on another node; try again")

    def _apply_once(
        self, tracked: Tracked, chosen: Action, org: str, reason: str, principal: Principal
    ) -> Tracked:
        self.tick()  # a holder whose deadline passed has lost the request already
        if not tracked.machine.state.terminal:
            refusal = not_entitled(tracked.machine, chosen, org)
            if refusal is not None:
                raise DecisionError(403, refusal)
        # On a copy: the request changes only once the database has the change.
        machine = self._copy(tracked.machine)
        before = len(machine.trail)
        outcome = machine.act(chosen, org, reason)
        if not isinstance(outcome, Accepted):
            raise DecisionError(409, outcome.reason)
        if tracked.mirrored:
            # Checked here on a copy; decided by its home server, whose new state comes back.
            if self.remote is None:
                raise DecisionError(503, f"{tracked.record.id} is held by another server")
            self.remote(tracked, chosen, org, reason, principal)
            return tracked
        self._changed(tracked, machine, machine.trail[before:], principal)
        return tracked

    def adopt(self, tracked: Tracked, by: Principal) -> list[Step]:
        """Store a mirrored request as its home server sent it; audit the steps new here."""
        current = self.requests.get(tracked.record.id)
        known = len(current.machine.trail) if current is not None else 0
        steps = tracked.machine.trail[known:]
        if current is not None and not steps:
            return []
        try:
            if current is None:
                self.store.insert(tracked.record)
            else:
                tracked.record = self.store.save(tracked.record)
        except SQLAlchemyError as exc:
            raise unavailable(exc) from None
        self.requests[tracked.record.id] = tracked
        self._announce(tracked, steps, by)
        return steps

    def _copy(self, machine: RequestMachine) -> RequestMachine:
        return RequestMachine.from_dict(machine.to_dict(), self.clock)

    def tick(self, now: datetime | None = None) -> int:
        """Escalate every request whose deadline passed; returns the number of steps."""
        if not self.runs_deadlines():
            return 0  # another node of the cluster holds the deadline lease
        now = now or self.clock.now()
        count = 0
        self._unstored = False
        for tracked in list(self.requests.values()):
            due = tracked.machine.next_deadline()
            if due is None or due > now or tracked.mirrored:
                continue
            machine = self._copy(tracked.machine)
            steps = machine.tick(now)
            if not steps:
                continue
            try:
                self._changed(tracked, machine, steps, None)
            except StaleWrite:
                self._reload(tracked.record.id)  # changed elsewhere: decided again when due
                continue
            except DecisionError:
                # The database is away: the step is taken again once it is back.
                self._unstored = True
                continue
            count += len(steps)
        return count

    # -- effects --------------------------------------------------------------------

    def _changed(
        self,
        tracked: Tracked,
        machine: RequestMachine,
        steps: list[Step],
        principal: Principal | None,
    ) -> None:
        """Store ``machine`` as the request's new state, then let it take effect."""
        record = replace(
            tracked.record,
            state=machine.state.value,
            holders=machine.holders,
            next_deadline=machine.next_deadline(),
            updated_at=self.clock.now(),
            machine=machine.to_dict(),
        )
        try:
            record = self.store.save(record, expected=tracked.record.version)
        except SQLAlchemyError as exc:
            raise unavailable(exc) from None
        tracked.machine, tracked.record = machine, record
        self._announce(tracked, steps, principal)

    def _announce(self, tracked: Tracked, steps: list[Step], principal: Principal | None) -> None:
        for step in steps:
            actor = principal.callsign if principal is not None and step.actor != SYSTEM else SYSTEM
            self.audit(
                actor,
                f"request.{step.action}",
                tracked.machine.id,
                {
                    "seq": step.seq,
                    "at": step.at.isoformat(),
                    "organisation": step.actor,
                    "from": step.from_state.value if step.from_state else None,
                    "to": step.to_state.value,
                    "holders": list(step.holders),
                    "reason": step.reason,
                    "detail": dict(step.detail),
                },
            )
        if not tracked.mirrored:  # its home server's marker crosses like any item
            self._publish_marker(tracked)
        if tracked.marking is not None:
            self.hub.notify_views(
                {"kind": "request", "request": self.as_json(tracked, None)}, tracked.marking
            )
        self._reschedule()
        for observer in self.observers:
            observer(tracked, steps)

    def _publish_marker(self, tracked: Tracked) -> None:
        if tracked.marking is None:
            return
        event = marker_event(tracked.machine, tracked.marking, self.structure, datetime.now(UTC))
        if event is not None:
            self.hub.publish(event, tracked.marking, datetime.now(UTC))

    # -- the cluster: PostgreSQL is the truth ---------------------------------------

    def _tracked(self, record: RequestRecord) -> Tracked | None:
        try:
            machine = RequestMachine.from_dict(record.machine, self.clock)
        except (KeyError, ValueError) as exc:
            log.error("request %s cannot be restored: %s", record.id, exc)
            return None
        return Tracked(machine, self._stored_marking(record), record)

    def _reload(self, rid: str) -> Tracked:
        """The request as stored now (after a stale write)."""
        try:
            record = self.store.get(rid)
        except SQLAlchemyError as exc:
            raise unavailable(exc) from None
        tracked = self._tracked(record) if record is not None else None
        if tracked is None:
            raise DecisionError(404, f"no request {rid}")
        self.requests[rid] = tracked
        return tracked

    def refreshed(self, record: RequestRecord) -> bool:
        """A request another node stored (its news on the cluster): held and shown as
        stored, without auditing or marking again (that node did). False if not newer."""
        current = self.requests.get(record.id)
        if current is not None and current.record.version >= record.version:
            return False
        tracked = self._tracked(record)
        if tracked is None:
            return False
        self.requests[record.id] = tracked
        if tracked.marking is not None:
            self.hub.notify_views(
                {"kind": "request", "request": self.as_json(tracked, None)}, tracked.marking
            )
        self._reschedule()
        return True

    def take_deadlines(self) -> int:
        """This node now holds the deadline lease: read every request as stored, apply
        the deadlines that passed meanwhile and arm the timer. Returns the steps taken."""
        self.load()
        steps = self.tick()
        self._reschedule()
        return steps

    def _reschedule(self) -> None:
        if self._loop is None or self._loop.is_closed():
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self.runs_deadlines():
            return
        due = min(
            (
                d
                for t in self.requests.values()
                if not t.mirrored and (d := t.machine.next_deadline()) is not None
            ),
            default=None,
        )
        if due is None:
            return
        rate = float(getattr(self.clock, "rate", 1.0))
        delay = (due - self.clock.now()).total_seconds() / rate
        if self._unstored:
            delay = max(delay, RETRY_UNSTORED_SECONDS)  # not a busy loop on a dead database
        self._timer = self._loop.call_later(min(max(delay, 0.0), MAX_TIMER_SECONDS), self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        try:
            self.tick()
        except Exception:
            log.exception("request deadline processing failed")
        self._reschedule()

    def _stored_marking(self, record: RequestRecord) -> Marking | None:
        try:
            parsed = parse_banner(record.banner, self.policy, strict=False)
        except MarkingError as exc:
            log.error(
                "request %s: stored marking %r no longer parses (%s); hidden",
                record.id,
                record.banner,
                exc,
            )
            return None
        return parsed.with_originator(record.originator_nation)

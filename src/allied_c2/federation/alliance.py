"""Decision requests and readiness across servers (I/O edge between the services and links).

Which organisations a federate's server holds is part of its configuration:
``organisations = [...]`` in its rules file (``federate update NAME --rules
FILE``; rules.py). A request is held by its **home** server, where it was
submitted: that server runs its lifecycle machine, its deadlines and its
marker. Whenever it changes, its whole state goes to every federate holding an
organisation on its route (originator, reviewers, decider, counterparts,
offices), as a ``request.state`` message (alliance_wire.py). There it is kept
as a **mirror** (id ``REQ-0001@HOME``, ``created_by`` ``fed:HOME``): shown to
local users by the local release decision, its actions checked locally (roles,
holder, lifecycle, on a copy) and sent home as ``request.action``; the home
server applies an action only for an organisation it maps to that federate and
only if the request is releasable to it, and its new state comes back. Each
server audits what it saw and did (``request.*`` with the actor, here
``fed:NAME`` or ``fed:NAME/CALLSIGN``; ``request.forwarded`` on the mirror's
side). Readiness reports go to every federate as ``readiness.report``; each
server computes roll-ups over the reports it holds, so a peer's roll-up holds
only reports (and so units) released to it.

Every message is offered to the one link it is for through the guard, with the
request's or report's marking: what may not cross does not, and is counted and
audited like any denial. Inbound, the marking must be valid and within the
federate's accreditation (the send check), as for any item. On link up the
home server sends the state of every request the peer has a part in, and each
server its latest reports, so a peer that was away catches up; the receiving
side drops what it holds already.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from allied_c2.alliance.lifecycle import Action, RequestMachine, Step
from allied_c2.alliance.readiness import ReadinessError, ReadinessReport
from allied_c2.cot.addressing import addressing_of
from allied_c2.cot.event import CotEvent
from allied_c2.federation import alliance_wire as aw
from allied_c2.federation.guard import Offer
from allied_c2.federation.link import State
from allied_c2.security.audience import Origin
from allied_c2.security.decision import may_send
from allied_c2.security.markings import Marking
from allied_c2.security.principals import Principal
from allied_c2.server.decisions import DecisionService, Tracked, request_record
from allied_c2.server.peers import Refusal
from allied_c2.server.readiness import Entry, ReadinessService, readiness_record
from allied_c2.server.request_rules import DecisionError, parties

if TYPE_CHECKING:
    from allied_c2.federation.service import FederationService, Member

log = logging.getLogger("allied_c2.federation")

MIRROR_SEPARATOR = "@"


def route_organisations(machine: RequestMachine) -> set[str]:
    orgs = parties(machine)
    orgs.update(o for leg in machine.route.legs for o in leg.path)
    return orgs


class AllianceRelay:
    def __init__(
        self,
        federation: FederationService,
        decisions: DecisionService | None,
        readiness: ReadinessService | None,
    ) -> None:
        self.federation = federation
        self.decisions = decisions
        self.readiness = readiness
        self.sent: dict[str, int] = {}  # by kind
        self.received: dict[str, int] = {}
        if decisions is not None:
            decisions.observers.append(self._request_changed)
            decisions.remote = self._forward_action
        if readiness is not None:
            readiness.observers.append(self._report_posted)
        federation.relay = self

    # -- outbound ---------------------------------------------------------------

    def organisations(self, member: Member) -> frozenset[str]:
        return member.link.peer.rules.organisations

    def _targets(self, machine: RequestMachine) -> list[Member]:
        orgs = route_organisations(machine)
        return [m for m in self.federation.members.values() if self.organisations(m) & orgs]

    def send(self, member: Member, kind: str, payload: dict[str, Any], marking: Marking) -> bool:
        """Offer one message to one link through the guard; whether it was queued."""
        service = self.federation
        now = service.now()
        event = aw.relay_event(kind, payload, marking, member.principal.callsign, now)
        offer = Offer(event, marking, addressing_of(event), Origin("server"), "server", now)
        denied = member.link.offer(offer, now)
        if denied is not None:
            if denied.audited:
                service._denied(member, offer, denied)
            return False
        self.sent[kind] = self.sent.get(kind, 0) + 1
        member.wake.set()
        return True

    def _request_changed(self, tracked: Tracked, steps: list[Step]) -> None:
        if tracked.mirrored or tracked.marking is None:
            return
        for member in self._targets(tracked.machine):
            self.send(member, aw.REQUEST_STATE, _state(tracked), tracked.marking)

    def _forward_action(
        self, tracked: Tracked, action: Action, org: str, reason: str, principal: Principal
    ) -> None:
        assert self.decisions is not None and tracked.marking is not None
        home_name = tracked.record.created_by[len("fed:") :]
        home = self.federation.members.get(home_name)
        if home is None:
            raise DecisionError(
                503, f"{tracked.record.id}: its server {home_name} is not federated"
            )
        if home.link.state is not State.UP:
            # Refused rather than queued: a queued action would live only in this
            # process until the link is back (never acknowledge what is not kept).
            raise DecisionError(
                503,
                f"{tracked.record.id}: its server {home_name} is not connected "
                f"(link {home.link.state.value}); nothing was done, try again when it is",
            )
        home_id = tracked.record.id.rsplit(MIRROR_SEPARATOR, 1)[0]
        payload = {
            "id": home_id,
            "action": action.value,
            "organisation": org,
            "reason": reason,
            "by": principal.callsign,
            "ref": str(uuid.uuid4()),
        }
        if not self.send(home, aw.REQUEST_ACTION, payload, tracked.marking):
            raise DecisionError(
                403, f"the guard does not let {tracked.record.id} go to {home_name}"
            )
        self.decisions.audit(
            principal.callsign,
            "request.forwarded",
            tracked.record.id,
            {"to": home_name, "action": action.value, "organisation": org, "reason": reason},
        )

    def _report_posted(self, entry: Entry) -> None:
        if entry.marking is None or entry.record.created_by.startswith("fed:"):
            return
        payload = _report(entry)
        for member in self.federation.members.values():
            self.send(member, aw.READINESS_REPORT, payload, entry.marking)

    def link_up(self, member: Member) -> None:
        """Catch-up: the requests the peer has a part in, and the latest reports."""
        orgs = self.organisations(member)
        if self.decisions is not None and orgs:
            for tracked in list(self.decisions.requests.values()):
                if tracked.mirrored or tracked.marking is None:
                    continue
                if orgs & route_organisations(tracked.machine):
                    self.send(member, aw.REQUEST_STATE, _state(tracked), tracked.marking)
        if self.readiness is not None:
            latest: dict[str, Entry] = {}
            for entry in self.readiness.entries:
                if entry.marking is None or entry.record.created_by.startswith("fed:"):
                    continue
                held = latest.get(entry.report.unit)
                if held is None or entry.report.reported_at >= held.report.reported_at:
                    latest[entry.report.unit] = entry
            for entry in latest.values():
                assert entry.marking is not None
                self.send(member, aw.READINESS_REPORT, _report(entry), entry.marking)

    # -- inbound ----------------------------------------------------------------

    def receive(self, member: Member, event: CotEvent, via: str) -> None:
        """A relay event from ``member``: the send check, then the service it is for."""
        hub, link = self.federation.hub, member.link
        principal = member.principal
        try:
            marking = hub.resolve_marking(event, principal)
            decision = may_send(marking, principal, hub.policy)
            if not decision.allowed:
                raise Refusal("send_not_permitted", decision.reason or "not permitted")
        except Refusal as refusal:
            hub.refuse(None, principal, event, refusal, via=via)
            link.refused(refusal.reason)
            return
        try:
            message = aw.relayed(event)
            self.received[message.kind] = self.received.get(message.kind, 0) + 1
            self._dispatch(member, message, marking)
        except (aw.RelayError, ReadinessError, KeyError, TypeError, ValueError) as exc:
            link.stats.discarded_in["alliance_malformed"] += 1
            log.warning("federate %s: unusable alliance message: %s", member.name, exc)
        except DecisionError as exc:
            link.stats.discarded_in["alliance_refused"] += 1
            log.warning("federate %s: alliance message refused: %s", member.name, exc.reason)

    def _dispatch(self, member: Member, message: aw.Relayed, marking: Marking) -> None:
        kind, payload = message.kind, message.payload
        if kind == aw.READINESS_REPORT:
            self._receive_report(member, payload, marking)
        elif self.decisions is None:
            raise DecisionError(409, "no request service here")
        elif kind == aw.REQUEST_STATE:
            self._receive_state(member, payload, marking)
        elif kind == aw.REQUEST_ACTION:
            self._receive_action(member, payload, marking)
        else:
            self.decisions.audit(
                member.principal.callsign,
                "request.forward_refused",
                f"{payload['id']}{MIRROR_SEPARATOR}{member.name}",
                {"status": payload.get("status"), "reason": payload.get("reason")},
            )

    def _receive_state(self, member: Member, payload: dict[str, Any], marking: Marking) -> None:
        decisions = self.decisions
        assert decisions is not None
        home_id = str(payload["id"])
        rid = f"{home_id}{MIRROR_SEPARATOR}{member.name}"
        data = dict(payload["machine"])
        data["request"] = {**data["request"], "id": rid, "marking": marking.banner()}
        machine = RequestMachine.from_dict(data, decisions.clock)
        current = decisions.requests.get(rid)
        if current is not None and len(current.machine.trail) >= len(machine.trail):
            return  # held already (a resend, or an older state overtaken)
        record = request_record(
            machine,
            marking,
            seq=current.record.seq if current is not None else decisions.store.next_seq(),
            created_by=member.principal.callsign,
            at=self.federation.now(),
            version=current.record.version if current is not None else 1,
        )
        decisions.adopt(Tracked(machine, marking, record), member.principal)

    def _receive_action(self, member: Member, payload: dict[str, Any], marking: Marking) -> None:
        decisions = self.decisions
        assert decisions is not None
        rid, org = str(payload["id"]), str(payload["organisation"])
        by = replace(member.principal, callsign=f"{member.principal.callsign}/{payload['by']}")
        try:
            if org not in self.organisations(member):
                raise DecisionError(403, f"{org} is not an organisation held by {member.name}")
            decisions.act_for(by, org, rid, str(payload["action"]), str(payload["reason"]))
        except DecisionError as exc:
            decisions.audit(
                by.callsign,
                "request.action_refused",
                rid,
                {"status": exc.status, "reason": exc.reason, "action": str(payload["action"])},
            )
            answer = {"id": rid, "ref": payload.get("ref"), "status": exc.status}
            answer["reason"] = exc.reason
            tracked = decisions.requests.get(rid)
            if tracked is not None and tracked.marking is not None:
                self.send(member, aw.REQUEST_REFUSED, answer, tracked.marking)

    def _receive_report(self, member: Member, payload: dict[str, Any], marking: Marking) -> None:
        readiness = self.readiness
        if readiness is None or readiness.structure is None:
            return
        report = dict(payload["report"])
        unit = str(report["unit"])
        org = readiness.structure.organisations.get(unit)
        if org is None:
            raise DecisionError(422, f"unknown unit {unit!r}")
        if org.nation != member.record.nation and unit not in self.organisations(member):
            # A server reports on its own nation's units and those mapped to it, no others.
            raise DecisionError(403, f"{member.name} does not report for {unit}")
        report["marking"] = marking.banner()
        parsed = ReadinessReport.from_dict(report)  # the level is the report's, not a claim
        by = f"{member.principal.callsign}/{payload['by']}"
        record = readiness_record(parsed, report, marking, self.federation.now(), by)
        readiness.receive(record, member.principal)


def _state(tracked: Tracked) -> dict[str, Any]:
    return {"id": tracked.record.id, "machine": tracked.machine.to_dict()}


def _report(entry: Entry) -> dict[str, Any]:
    record = entry.record
    return {
        "report": record.report,
        "level": record.level,
        "reported_at": record.reported_at.isoformat(),
        "by": record.created_by,
    }

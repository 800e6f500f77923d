"""What a federate sends us, into the hub (I/O edge, called by the listener and dialer).

Each message first goes through the link's state machine (loops, hop limits,
duplicates, contacts; link.py). An event is then ingested as the federate's
principal: ``Hub.ingest`` records the peer's nation as originator whatever the
item claims (provenance, a detail element: nothing in the item can make it
another nation's), refuses an invalid marking or one above the accreditation
(logged and audited by the hub, counted on the link), and routes the rest like
any local item. A report older than, or the same as, what the picture holds
for its uid is dropped: a resend after a drop must not move a unit back.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from allied_c2.cot.drawing import delete_event, forced_deletes
from allied_c2.cot.event import CotEvent
from allied_c2.cot.special import is_disconnect, keeps_in_picture
from allied_c2.federation import wire
from allied_c2.federation.alliance_wire import is_relay
from allied_c2.federation.link import Discard, InContact, InEvent
from allied_c2.federation.proto import fig_pb2
from allied_c2.security.markings import marking_to_cot, rollup
from allied_c2.server.peers import Refusal
from allied_c2.server.request_views import MARKER_PREFIX

if TYPE_CHECKING:
    from allied_c2.federation.service import FederationService, Member

log = logging.getLogger("allied_c2.federation")


def receive(service: FederationService, member: Member, message: fig_pb2.FederatedEvent) -> None:
    hub, now = service.hub, service.now()
    result = member.link.receive(message, now)
    if isinstance(result, Discard):
        if result.reason != "duplicate":
            log.info("federate %s: discarded (%s): %s", member.name, result.reason, result.detail)
        return
    via = f"federation:{member.name}@{member.link.peer_address or '?'}"
    if isinstance(result, InContact):
        if not result.deleted:
            service.contacts.seen(member.name, result.uid, result.callsign, now)
            return
        contact = service.contacts.gone(member.name, result.uid)
        notice = result.notice
        if notice is not None and (local := _local_uid(result.uid, member)) != result.uid:
            notice = wire.deleted_contact(message, now, uid=local)
        if notice is not None and is_disconnect(notice) and not forced_deletes(notice):
            # A contact entry carries no marking: the notice is marked as the contact
            # (the roll-up of what it sent here), as a local contact's is (hub.detach);
            # of a contact that sent nothing here nobody knew, so nobody is told.
            if contact is None or not contact.markings:
                return
            known = rollup(contact.markings, hub.policy)
            notice = notice.with_marking(*marking_to_cot(known), in_place=True)
        if notice is not None:
            hub.ingest(None, member.principal, notice, now, via=via)
            hub.wake()
        return
    assert isinstance(result, InEvent)
    event = result.event
    if is_relay(event.type):  # requests and readiness: to their services, not the picture
        if service.relay is not None:
            service.relay.receive(member, event, via)
        else:
            member.link.stats.discarded_in["alliance_off"] += 1
        return
    if (local := _local_uid(event.uid, member)) != event.uid:
        event = event.evolve(uid=local)
    targets = forced_deletes(event)
    if any(_local_uid(uid, member) != uid for uid in targets):
        event = _renamed_delete(event, [_local_uid(uid, member) for uid in targets], now)
    entry = hub.picture.get(event.uid)
    if entry is not None and keeps_in_picture(event) and entry.event.time >= event.time:
        member.link.stats.discarded_in["outdated"] += 1
        return
    if event.type.startswith("a-") and event.endpoint and event.callsign:
        service.contacts.seen(member.name, event.uid, event.callsign, now)
    if not hub.ingest(None, member.principal, event, now, via=via):
        # Refused, logged and audited by the hub; which of its two checks said no:
        try:
            hub.resolve_marking(event, member.principal)
            member.link.refused("send_not_permitted")
        except Refusal:
            member.link.refused("bad_marking")
    hub.wake()


def _local_uid(uid: str, member: Member) -> str:
    """Every server numbers its requests from REQ-0001: a peer's request marker is
    named here as the peer's request copies are (``request-REQ-0001@HOME``), so it
    never replaces this server's own marker of the same number; its delete is
    renamed the same way."""
    if uid.startswith(MARKER_PREFIX) and "@" not in uid:
        return f"{uid}@{member.name}"
    return uid


def _renamed_delete(event: CotEvent, targets: list[str], now: datetime) -> CotEvent:
    """The peer's delete of its request marker, naming the marker as it is held here."""
    link = event.detail.find("link") if event.detail is not None else None
    kind = (link.get("type") if link is not None else None) or "b-m-p-s-m"
    renamed = delete_event(targets[0], kind, now, notice_uid=event.uid)
    return renamed.with_marking(event.access, event.caveat, event.releasable_to, in_place=True)

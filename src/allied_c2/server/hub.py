"""The relay: every accepted event goes through :meth:`Hub.ingest`.

Ingest checks the marking once, reads the addressing once, stores the event,
updates the picture and hands the event to each recipient the audience
decision (security/audience.py: release and addressing) allows. Every exit of
the hub (live fan-out, direct delivery, catch-up, web views, the picture read
by the HTTP API) decides through ``Hub.audience``; nothing here calls the
release decision on its own. Encoding happens lazily on the event (once per wire format, whoever
asks first), release decisions are cached per (marking, principal), and
recipients are grouped by principal so a broadcast to a hundred anonymous
clients costs one decision.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Protocol

from allied_c2.cot.addressing import PUBLIC, Addressing, addressing_of
from allied_c2.cot.drawing import forced_deletes
from allied_c2.cot.event import CotEvent
from allied_c2.cot.notices import groups_changed
from allied_c2.cot.special import disconnect_notice, keeps_in_picture
from allied_c2.security.audience import (
    NO_ORIGIN,
    Audience,
    Origin,
    Reader,
    is_identified,
)
from allied_c2.security.decision import Decision, ReleaseCache, may_send
from allied_c2.security.groups import ALL_GROUPS, DEFAULT_GROUPS, Channels
from allied_c2.security.markings import (
    Marking,
    MarkingError,
    is_unmarked_access,
    marking_from_cot,
    marking_to_cot,
    rollup,
)
from allied_c2.security.policy import SecurityPolicy
from allied_c2.security.principals import Principal
from allied_c2.server.channels import (
    SERVER_ORIGIN,
    written_origin,
)
from allied_c2.server.delivery import Delivery
from allied_c2.server.identities import Identities
from allied_c2.server.names import Names
from allied_c2.server.peers import (
    Accepted,
    AuditSink,
    HistorySink,
    Outlet,
    Peer,
    PictureListener,
    Refusal,
    Restored,
)
from allied_c2.server.picture import Picture, PictureEntry
from allied_c2.server.picture_exits import PictureExits
from allied_c2.server.stats import RelayStats

log = logging.getLogger("allied_c2.relay")

# Parsed markings are cached by their raw CoT attributes; hostile input could
# otherwise grow the cache without bound.
_MARKING_CACHE_MAX = 8192


def _nothing() -> None:
    pass


_SERVER = Principal(callsign="allied-c2", nation=None, clearance="UNCLASSIFIED")


def _says_unmarked(event: CotEvent) -> bool:
    """``access`` present but meaning "no marking" (blank, ``Undefined``), nothing else set."""
    return not event.caveat and not event.releasable_to and is_unmarked_access(event.access)


class ItemHook(Protocol):
    """A service that marks and follows one CoT type (a file announcement, issue 12)."""

    def raise_marking(self, event: CotEvent, marking: Marking) -> Marking: ...

    def accepted(
        self, event: CotEvent, addressing: Addressing, origin: Origin, principal: Principal
    ) -> None: ...


class Hub:
    def __init__(
        self,
        policy: SecurityPolicy,
        default_marking: Marking,
        *,
        history: HistorySink | None = None,
        audit: AuditSink | None = None,
        stamp_markings: bool = True,
    ) -> None:
        self.policy = policy
        self.default_marking = default_marking
        self.releases = ReleaseCache(policy)
        self.audience = Audience(self.releases)
        self.identities = Identities()
        self.picture = Picture()
        self.stats = RelayStats()
        self._history = history
        self._audit = audit
        self._stamp = stamp_markings
        self._outlets: list[Outlet] = []
        self._peers: dict[Principal, set[Peer]] = {}
        self.names = Names(self.identities)
        # The markings each connection sent this session: its existence (the
        # contact list, its disconnect notice) is as sensitive as the most
        # restrictive of them (fail closed), never the server's default.
        self._sent: dict[Peer, set[Marking]] = {}
        # A serial per live connection (never reused): the sending connection of an
        # addressed item is its sender even before it bound a uid.
        self._serials: dict[Peer, int] = {}
        self._contact_markings: dict[Peer, Marking] = {}
        self._listeners: set[PictureListener] = set()
        self.delivery = Delivery(
            self._peers,
            self.audience,
            self.identities,
            self.names,
            self.stats,
            self.reader_of,
            audit,
        )
        self.fanout = self.delivery.fanout
        self.exits = PictureExits(
            self.picture,
            self.audience,
            self.identities,
            self._listeners,
            self.reader_of,
            _SERVER.callsign,
        )
        self._markings: dict[tuple[str | None, str | None, str | None, str | None], Marking] = {}
        self._send_checks: dict[tuple[Marking, Principal], Decision] = {}
        # Types whose marking depends on what they refer to (b-f-t-r: the package's).
        self.item_hooks: dict[str, ItemHook] = {}
        # Called after a server-made event was queued, so the I/O side writes it
        # out even when no client input is being handled (set by the CoT service).
        self.wake: Callable[[], None] = _nothing

    # -- membership -------------------------------------------------------------

    @property
    def peer_count(self) -> int:
        return sum(len(group) for group in self._peers.values())

    def peers(self) -> Iterable[Peer]:
        for group in self._peers.values():
            yield from group

    def listeners(self) -> list[PictureListener]:
        return list(self._listeners)

    def add_outlet(self, outlet: Outlet) -> None:
        """Subscribe to every accepted event (cluster bus, federation links)."""
        self._outlets.append(outlet)

    def attach(self, peer: Peer, now: datetime) -> None:
        """Register a client and start its catch-up with the picture as it stands."""
        self._peers.setdefault(peer.principal, set()).add(peer)
        self.stats.connections_total += 1
        self._serials[peer] = self.stats.connections_total
        peer.begin_catch_up(self.picture_uids(now))

    def picture_uids(self, now: datetime) -> list[str]:
        """The uids a catch-up walks, oldest report first (each decided when due)."""
        return [entry.event.uid for entry in self.picture.current(now)]

    def reader_of(self, peer: Peer) -> Reader:
        """Who a connection is for the audience decision."""
        reader = self.identities.reader_of_connection(
            peer.principal, peer.uid, peer.callsign, peer.group_name
        )
        serial = self._serials.get(peer)
        return reader if serial is None else replace(reader, connection=serial)

    def reader_for(self, principal: Principal) -> Reader:
        """Who a principal is on the HTTP API and the web views (no connection of its own)."""
        return self.exits.reader_for(principal)

    def sees(self, entry: PictureEntry, reader: Reader | Principal) -> bool:
        """The audience decision for a picture entry (picture_exits.py)."""
        return self.exits.sees(entry, reader)

    def catch_up_item(self, uid: str, peer: Peer, now: datetime) -> CotEvent | None:
        """The current version of a picture item for a catch-up, if still live and visible."""
        return self.exits.catch_up_item(uid, peer, now)

    def detach(self, peer: Peer, now: datetime) -> None:
        group = self._peers.get(peer.principal)
        if group is not None:
            group.discard(peer)
            if not group:
                del self._peers[peer.principal]
        contact = self.contact_marking(peer)
        self._serials.pop(peer, None)
        self._sent.pop(peer, None)
        self._contact_markings.pop(peer, None)
        if self.names.release(peer) and contact is not None and peer.uid is not None:
            # Marked like the contact's most restrictive item: whoever may not
            # know the contact existed does not learn that it left.
            notice = disconnect_notice(peer.uid, peer.callsign, now)
            if self._stamp:
                notice = notice.with_marking(*marking_to_cot(contact), in_place=True)
            if self._outlets:  # other nodes' clients and federates knew the contact too
                origin = (
                    written_origin(self.identities, peer.principal, peer.uid, PUBLIC)
                    if self.identities.grouped
                    else NO_ORIGIN
                )
                # Marked in the XML even with stamping off: other nodes read the marking there.
                marked = notice if self._stamp else notice.with_marking(*marking_to_cot(contact))
                self._emit(Accepted(marked, contact, PUBLIC, origin, peer.principal, now))
            self.delivery.broadcast(notice, contact, exclude=peer, groups=self._writes(peer, None))

    def contact_marking(self, peer: Peer) -> Marking | None:
        """The roll-up of what ``peer`` sent this session; None if it sent nothing."""
        marking = self._contact_markings.get(peer)
        if marking is None:
            sent = self._sent.get(peer)
            if not sent:
                return None
            marking = rollup(sent, self.policy)
            self._contact_markings[peer] = marking
        return marking

    def change_principal(self, peer: Peer, principal: Principal) -> None:
        """Apply a changed identity (clearance, nation, COIs) to a live connection."""
        group = self._peers.get(peer.principal)
        if group is not None:
            group.discard(peer)
            if not group:
                del self._peers[peer.principal]
        peer.principal = principal
        self._peers.setdefault(principal, set()).add(peer)

    def set_channels(self, channels: Mapping[str, Channels], now: datetime) -> set[str]:
        """Apply the principals' groups; their connected clients are told ``t-x-g-c``
        (the official server's "groups changed", after which ATAK fetches groups/all).
        Returns the callsigns whose groups changed."""
        changed = self.identities.set_channels(channels)
        if not changed:
            return changed
        for peer in self.peers():
            if peer.principal.callsign in changed and is_identified(peer.principal):
                peer.send(None, groups_changed(now))
        self.wake()
        return changed

    def add_listener(self, listener: PictureListener) -> None:
        self._listeners.add(listener)

    def remove_listener(self, listener: PictureListener) -> None:
        self._listeners.discard(listener)

    # -- the relay ----------------------------------------------------------------

    def resolve_marking(self, event: CotEvent, principal: Principal) -> Marking:
        """The event's marking with its originator; raises :class:`Refusal` when invalid."""
        key = (event.access, event.caveat, event.releasable_to, principal.nation)
        marking = self._markings.get(key)
        if marking is None:
            try:
                parsed = marking_from_cot(
                    event.access,
                    event.caveat,
                    event.releasable_to,
                    self.policy,
                    default=self.default_marking,
                )
            except MarkingError as exc:
                raise Refusal("bad_marking", str(exc)) from None
            marking = parsed.with_originator(principal.nation)
            if len(self._markings) >= _MARKING_CACHE_MAX:
                self._markings.clear()
            self._markings[key] = marking
        return marking

    def ingest(
        self,
        sender: Peer | None,
        principal: Principal,
        event: CotEvent,
        now: datetime,
        *,
        via: str | None = None,
        origin: Origin | None = None,
    ) -> bool:
        """Accept one event from ``principal``; False when it was refused (and audited).

        ``sender`` is None for datagrams, federation links and the cluster bus; ``via``
        then names where it came from in the refusal's log line and audit entry
        (default "udp"). ``origin`` is given by the cluster bus for an event another
        node accepted: the origin that node found (never a connection serial, which
        names a connection only on the node that gave it).
        """
        hook = self.item_hooks.get(event.type) if self.item_hooks else None
        try:
            marking = self.resolve_marking(event, principal)
            raised = False
            if hook is not None:
                referred = hook.raise_marking(event, marking)
                raised, marking = referred != marking, referred
            self._check_send(marking, principal, event)
        except Refusal as refusal:
            self.refuse(sender, principal, event, refusal, via=via)
            return False
        if self._stamp and (raised or event.access is None or _says_unmarked(event)):
            # Every item that leaves carries its marking, even when the sender omitted it
            # (or wrote iTAK's "Undefined"). The event was decoded for this call and
            # nobody else holds it yet.
            event = event.with_marking(*marking_to_cot(marking), in_place=True)
        self.stats.events_in += 1
        if sender is not None:
            self.names.bind(sender, event)
            sent = self._sent.get(sender)
            if sent is None:
                self._sent[sender] = {marking}
            elif marking not in sent:
                sent.add(marking)
                self._contact_markings.pop(sender, None)
        addressing = addressing_of(event)
        if origin is not None:
            if origin.connection is not None:  # names a connection on another node only
                origin = replace(origin, connection=None)
        elif self.identities.grouped:
            uid = sender.uid if sender is not None else None
            origin = written_origin(self.identities, principal, uid, addressing)
            if not addressing.public and sender is not None:
                origin = replace(origin, connection=self._serials.get(sender))
        else:
            origin = (
                NO_ORIGIN
                if addressing.public
                else Origin(
                    principal.callsign if is_identified(principal) else None,
                    sender.uid if sender is not None else None,
                    connection=self._serials.get(sender) if sender is not None else None,
                )
            )
        if self._history is not None:
            self._history(event, marking, principal, now)
        if self._outlets:
            self._emit(Accepted(event, marking, addressing, origin, principal, now))
        if keeps_in_picture(event) and self.picture.update(
            event, marking, principal.callsign, addressing, origin
        ):
            self.exits.changed(event.uid)
        elif deleted := forced_deletes(event):
            self.exits.delete(deleted, marking, principal)
        self.delivery.route(sender, principal, event, marking, addressing, origin)
        if hook is not None:
            hook.accepted(event, addressing, origin, principal)
        return True

    def _writes(self, peer: Peer, principal: Principal | None) -> frozenset[str]:
        """The groups a connection writes to (its principal's IN groups it switched on)."""
        if not self.identities.grouped:
            return DEFAULT_GROUPS
        who = principal if principal is not None else peer.principal
        return self.identities.connection_channels(who, peer.uid).writes

    def publish(
        self, event: CotEvent, marking: Marking, now: datetime, origin: Principal | None = None
    ) -> None:
        """Put a server-made event (a request marker, a simulated track) on the picture.

        The server is trusted to mark what it makes, so there is no send check,
        but every exit still applies the audience decision to ``marking``.
        Server-made events are public: addressed ones go through :meth:`ingest`.
        """
        if self._stamp:
            event = event.with_marking(*marking_to_cot(marking))
        self.stats.events_in += 1
        sender = origin or _SERVER
        if self._history is not None:
            self._history(event, marking, sender, now)
        if self._outlets:
            self._emit(Accepted(event, marking, PUBLIC, SERVER_ORIGIN, sender, now))
        if keeps_in_picture(event) and self.picture.update(
            event, marking, sender.callsign, PUBLIC, SERVER_ORIGIN
        ):
            self.exits.changed(event.uid)
        self.delivery.broadcast(event, marking, exclude=None, groups=ALL_GROUPS)
        self.wake()

    def notify(
        self, event: CotEvent, marking: Marking, addressing: Addressing, origin: Origin
    ) -> None:
        """Send a server-made notice (mission news) that is not kept: to the groups in
        ``origin`` when public, else to its addressees, each through the audience."""
        if self._stamp:
            event = event.with_marking(*marking_to_cot(marking))
        self.delivery.route(None, _SERVER, event, marking, addressing, origin)
        self.wake()

    def _emit(self, accepted: Accepted) -> None:
        for outlet in self._outlets:
            try:
                outlet(accepted)
            except Exception:  # one failing subscriber must not stop the relay
                log.exception("outlet %r failed", outlet)

    def notify_views(self, message: dict[str, object], marking: Marking) -> None:
        """Send a JSON message (request or readiness news) to the live views allowed to see it."""
        self.exits.notify_views(message, marking)

    def refuse(
        self,
        sender: Peer | None,
        principal: Principal,
        event: CotEvent,
        refusal: Refusal,
        *,
        via: str | None = None,
    ) -> None:
        self.stats.refuse(refusal.reason)
        peer = sender.peer_name if sender is not None else via or "udp"
        log.warning(
            "refused event uid=%s type=%s from %s (%s): %s: %s",
            event.uid,
            event.type,
            principal.callsign,
            peer,
            refusal.reason,
            refusal.detail,
        )
        if self._audit is not None:
            self._audit(
                principal.callsign,
                "send.refused",
                event.uid,
                {
                    "reason": refusal.reason,
                    "detail": refusal.detail,
                    "type": event.type,
                    "peer": peer,
                },
            )

    def _check_send(self, marking: Marking, principal: Principal, event: CotEvent) -> None:
        key = (marking, principal)
        decision = self._send_checks.get(key)
        if decision is None:
            decision = may_send(marking, principal, self.policy)
            if len(self._send_checks) >= _MARKING_CACHE_MAX:
                self._send_checks.clear()
            self._send_checks[key] = decision
        if not decision.allowed:
            raise Refusal("send_not_permitted", decision.reason or "not permitted")

    def flush(self) -> None:
        """Deliver this turn's broadcasts (called once per event-loop turn)."""
        self.delivery.flush()

    # -- the picture's exits (picture_exits.py) -------------------------------------

    def sweep(self, now: datetime) -> int:
        """Drop stale items from the picture and tell the live views."""
        return self.exits.sweep(now)

    def restore(self, rows: Iterable[Restored]) -> int:
        """Rebuild the picture from history after a restart, by the live rules."""
        return self.exits.restore(rows)

    def stored_origin(self, sender: str | None, identified: bool, addressing: Addressing) -> Origin:
        """The origin of a history row, by the live rules (restore, history reads)."""
        return self.exits.stored_origin(sender, identified, addressing)

    def visible_picture(self, reader: Reader | Principal, now: datetime) -> list[PictureEntry]:
        """The picture as ``reader`` may see it (release and addressing)."""
        return self.exits.visible(reader, now)

    def releasable_picture(self, principal: Principal, now: datetime) -> list[PictureEntry]:
        """The picture as ``principal`` may see it through the HTTP API and web views."""
        return self.exits.visible(self.reader_for(principal), now)

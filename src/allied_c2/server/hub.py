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
    NOT_ADDRESSED,
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
    grouped_audiences,
    stored_origin,
    written_origin,
)
from allied_c2.server.fanout import Broadcast, Fanout
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
        self.fanout = Fanout()
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
        return self.identities.reader(principal)

    def sees(self, entry: PictureEntry, reader: Reader | Principal) -> bool:
        """The audience decision for a picture entry (a public one needs no identities)."""
        if entry.addressing.public and not self.identities.grouped:
            principal = reader if isinstance(reader, Principal) else reader.principal
            return self.audience.public(entry.marking, principal).allowed
        if isinstance(reader, Principal):
            reader = self.reader_for(reader)
        return self.audience.allows(entry.marking, reader, entry.addressing, entry.origin)

    def catch_up_item(self, uid: str, peer: Peer, now: datetime) -> CotEvent | None:
        """The current version of a picture item for a catch-up, if still live and visible.

        Catch-up is paced by the client's transport, so an item is looked up
        when it is due: a newer report sent live in the meantime is never
        overtaken by an older one, and a client that reads slowly during its
        catch-up is not mistaken for a slow consumer. The audience is decided
        then too, with the names the connection has bound by that time.
        """
        entry = self.picture.get(uid)
        if entry is None or entry.event.stale <= now:
            return None
        if entry.addressing.public and not self.identities.grouped:
            if not self.audience.public(entry.marking, peer.principal).allowed:
                return None
        elif not self.audience.allows(
            entry.marking, self.reader_of(peer), entry.addressing, entry.origin
        ):
            return None
        return entry.event

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
            self._broadcast(notice, contact, exclude=peer, groups=self._writes(peer, None))

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
    ) -> bool:
        """Accept one event from ``principal``; False when it was refused (and audited).

        ``sender`` is None for datagrams and federation links; ``via`` then names
        where it came from in the refusal's log line and audit entry (default "udp").
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
        if self.identities.grouped:
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
            self._notify_listeners(event.uid)
        elif deleted := forced_deletes(event):
            self._delete(deleted, marking, principal)
        self.route(sender, principal, event, marking, addressing, origin)
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
            self._notify_listeners(event.uid)
        self._broadcast(event, marking, exclude=None, groups=ALL_GROUPS)
        self.wake()

    def notify(
        self, event: CotEvent, marking: Marking, addressing: Addressing, origin: Origin
    ) -> None:
        """Send a server-made notice (mission news) that is not kept: to the groups in
        ``origin`` when public, else to its addressees, each through the audience."""
        if self._stamp:
            event = event.with_marking(*marking_to_cot(marking))
        self.route(None, _SERVER, event, marking, addressing, origin)
        self.wake()

    def _emit(self, accepted: Accepted) -> None:
        for outlet in self._outlets:
            try:
                outlet(accepted)
            except Exception:  # one failing subscriber must not stop the relay
                log.exception("outlet %r failed", outlet)

    def notify_views(self, message: dict[str, object], marking: Marking) -> None:
        """Send a JSON message (request or readiness news) to the live views allowed to see it."""
        public = self.audience.public
        for listener in list(self._listeners):
            if public(marking, listener.principal).allowed:
                listener.message(message)

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

    def route(
        self,
        sender: Peer | None,
        principal: Principal,
        event: CotEvent,
        marking: Marking,
        addressing: Addressing,
        origin: Origin,
    ) -> None:
        if addressing.public:
            self._broadcast(event, marking, exclude=sender, groups=origin.groups)
            return
        targets = self.names.addressees(addressing, self.peers())
        targets = self._principals_addressed(addressing, targets)
        if addressing.groups or addressing.missions:
            targets = self._members(addressing, targets)
        self._deliver_directed(sender, principal, event, marking, addressing, origin, targets)

    def _principals_addressed(self, addressing: Addressing, found: list[Peer]) -> list[Peer]:
        """``found`` plus every connection of an identified principal the item is for."""
        names = self.identities.claimants(addressing)
        if not names:
            return found
        seen = {id(peer) for peer in found}
        out = list(found)
        for principal, group in self._peers.items():
            if principal.callsign in names and is_identified(principal):
                out.extend(peer for peer in group if id(peer) not in seen)
        return out

    def _members(self, addressing: Addressing, found: list[Peer]) -> list[Peer]:
        """``found`` plus the connections that read a ``dest group`` or subscribe to a
        ``dest mission`` (each still decided by the audience when delivered)."""
        seen = {id(peer) for peer in found}
        out = list(found)
        for peer in self.peers():
            if id(peer) in seen:
                continue
            reader = self.reader_of(peer)
            if (addressing.groups and not addressing.groups.isdisjoint(reader.groups)) or (
                addressing.missions and not addressing.missions.isdisjoint(reader.missions)
            ):
                out.append(peer)
        return out

    def _broadcast(
        self,
        event: CotEvent,
        marking: Marking,
        exclude: Peer | None,
        groups: frozenset[str] = DEFAULT_GROUPS,
    ) -> None:
        # Written at the end of the turn, once per audience: see fanout.py. Only
        # public items are broadcast, so the audience is the release decision
        # (and, once groups are configured, the groups the item was written to).
        key = event.uid if keeps_in_picture(event) else None
        self.fanout.add(Broadcast(event, marking, key, exclude, groups))

    def flush(self) -> None:
        """Deliver this turn's broadcasts (called once per event-loop turn)."""
        if not len(self.fanout):
            return
        if self.identities.grouped:
            audiences, reads = grouped_audiences(self.identities, self._peers)
            delivered, withheld = self.fanout.flush(audiences, self.audience.public, reads)
        else:
            delivered, withheld = self.fanout.flush(list(self._peers.items()), self.audience.public)
        self.stats.deliveries += delivered
        self.stats.release_denied += withheld

    def _deliver_directed(
        self,
        sender: Peer | None,
        principal: Principal,
        event: CotEvent,
        marking: Marking,
        addressing: Addressing,
        origin: Origin,
        targets: Iterable[Peer],
    ) -> None:
        for peer in targets:
            if peer is sender:
                continue
            decision = self.audience.decide(marking, self.reader_of(peer), addressing, origin)
            if decision.allowed:
                peer.send(None, event)
                self.stats.deliveries += 1
                continue
            if decision is NOT_ADDRESSED:
                continue  # a candidate that turned out not to be meant: no release denial
            # Addressing a recipient directly never bypasses the marking; it is audited.
            self.stats.release_denied += 1
            log.warning(
                "release denied: %s -> %s uid=%s: %s",
                principal.callsign,
                peer.principal.callsign,
                event.uid,
                decision.reason,
            )
            if self._audit is not None:
                self._audit(
                    principal.callsign,
                    "release.denied",
                    event.uid,
                    {
                        "recipient": peer.principal.callsign,
                        "reason": decision.reason or "",
                        "type": event.type,
                        "marking": marking.banner(),
                    },
                )

    # -- picture maintenance ----------------------------------------------------

    def _delete(self, uids: Iterable[str], marking: Marking, principal: Principal) -> None:
        """Apply a TAK delete (``t-x-d-d`` with ``__forcedelete``) to the picture.

        The delete is relayed like any event; the server's picture drops the item
        only when the delete is marked exactly as the item (so it reaches the same
        readers, and its sender passed the send check at that marking: only those
        who may originate at a marking edit what carries it) and the sender may
        see the item. An unmarked delete from ATAK so removes only items at the
        default marking.
        """
        reader = self.reader_for(principal)
        for uid in uids:
            entry = self.picture.get(uid)
            if entry is None or entry.marking.banner() != marking.banner():
                continue
            if not self.sees(entry, reader):
                continue
            self.picture.remove(uid)
            for listener in list(self._listeners):
                if self.sees(entry, listener.principal):
                    listener.removed(uid, "deleted")

    def _notify_listeners(self, uid: str) -> None:
        if not self._listeners:
            return
        entry = self.picture.get(uid)
        if entry is None:
            return
        for listener in list(self._listeners):
            if self.sees(entry, listener.principal):
                listener.item(entry)

    def sweep(self, now: datetime) -> int:
        """Drop stale items from the picture and tell the live views."""
        gone = self.picture.expire(now)
        for entry in gone:
            for listener in list(self._listeners):
                if self.sees(entry, listener.principal):
                    listener.removed(entry.event.uid, "stale")
        return len(gone)

    def restore(self, rows: Iterable[Restored]) -> int:
        """Rebuild the picture from history after a restart, by the live rules.

        Only what live input would have put in the picture comes back (map
        items, not chat or control traffic), each with the addressing read
        from the event and its sender as origin, so a restart never widens an
        item's audience. Identified senders' SA rows also bring back the names
        they answer to, for addressed reads of the history.
        """
        count = 0
        for row in rows:
            event = row.event
            if not keeps_in_picture(event):
                continue
            identified = row.originator is not None and row.sender is not None
            if identified and event.type.startswith("a-") and event.endpoint:
                claimant = Principal(callsign=row.sender or "", nation=row.originator)
                self.identities.claim(claimant, event.uid, event.callsign, event.group_name)
            addressing = addressing_of(event)
            origin = self.stored_origin(row.sender, identified, addressing)
            if self.picture.update(event, row.marking, row.sender, addressing, origin):
                count += 1
        return count

    def stored_origin(self, sender: str | None, identified: bool, addressing: Addressing) -> Origin:
        """The origin of a history row, by the live rules (restore, history reads)."""
        if not self.identities.grouped:
            if addressing.public:
                return NO_ORIGIN
            return Origin(sender if identified else None, None)
        return stored_origin(self.identities, sender, identified, addressing, _SERVER.callsign)

    def visible_picture(self, reader: Reader | Principal, now: datetime) -> list[PictureEntry]:
        """The picture as ``reader`` may see it (release and addressing)."""
        if isinstance(reader, Principal):
            reader = self.reader_for(reader)
        return [e for e in self.picture.current(now) if self.sees(e, reader)]

    def releasable_picture(self, principal: Principal, now: datetime) -> list[PictureEntry]:
        """The picture as ``principal`` may see it through the HTTP API and web views."""
        return self.visible_picture(self.reader_for(principal), now)

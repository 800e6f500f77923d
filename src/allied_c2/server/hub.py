"""The relay: every accepted event goes through :meth:`Hub.ingest`.

Ingest checks the marking once, stores the event, updates the picture and
hands the event to each recipient the routing rules and the release decision
allow. Encoding happens lazily on the event (once per wire format, whoever
asks first), release decisions are cached per (marking, principal), and
recipients are grouped by principal so a broadcast to a hundred anonymous
clients costs one decision.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Protocol

from allied_c2.cot.event import CotEvent, WireFormat
from allied_c2.cot.special import disconnect_notice, is_chat, keeps_in_picture
from allied_c2.security.decision import Decision, ReleaseCache, may_send
from allied_c2.security.markings import Marking, MarkingError, marking_from_cot, marking_to_cot
from allied_c2.security.policy import SecurityPolicy
from allied_c2.security.principals import Principal
from allied_c2.server.fanout import Broadcast, Fanout
from allied_c2.server.picture import Picture, PictureEntry
from allied_c2.server.stats import RelayStats

log = logging.getLogger("allied_c2.relay")

ALL_CHAT_ROOMS = "All Chat Rooms"
# Parsed markings are cached by their raw CoT attributes; hostile input could
# otherwise grow the cache without bound.
_MARKING_CACHE_MAX = 8192

AuditSink = Callable[[str, str, str, dict[str, object]], None]  # actor, action, subject, detail
HistorySink = Callable[[CotEvent, Marking, Principal, datetime], None]


class Peer(Protocol):
    """What the relay needs of a connected stream client."""

    principal: Principal
    uid: str | None
    callsign: str | None
    group_name: str | None
    peer_name: str

    @property
    def output_format(self) -> WireFormat: ...

    def send(self, key: str | None, event: CotEvent) -> None: ...

    def begin_catch_up(self, uids: list[str]) -> None: ...

    def deliver(self, data: bytes, items: list[Broadcast]) -> None: ...

    def close(self, reason: str, detail: str) -> None: ...


class PictureListener(Protocol):
    """A live view of the picture (the web COP's WebSocket)."""

    principal: Principal

    def item(self, entry: PictureEntry) -> None: ...

    def removed(self, uid: str, reason: str) -> None: ...

    def message(self, message: dict[str, object]) -> None: ...


def _nothing() -> None:
    pass


_SERVER = Principal(callsign="allied-c2", nation=None, clearance="UNCLASSIFIED")


class Refusal(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


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
        self.picture = Picture()
        self.stats = RelayStats()
        self._history = history
        self._audit = audit
        self._stamp = stamp_markings
        self._peers: dict[Principal, set[Peer]] = {}
        self._by_uid: dict[str, Peer] = {}
        self._by_callsign: dict[str, Peer] = {}
        self._listeners: set[PictureListener] = set()
        self.fanout = Fanout()
        self._markings: dict[tuple[str | None, str | None, str | None, str | None], Marking] = {}
        self._send_checks: dict[tuple[Marking, Principal], Decision] = {}
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

    def attach(self, peer: Peer, now: datetime) -> None:
        """Register a client and start its catch-up with the picture as it stands."""
        self._peers.setdefault(peer.principal, set()).add(peer)
        self.stats.connections_total += 1
        peer.begin_catch_up([entry.event.uid for entry in self.picture.current(now)])

    def catch_up_item(self, uid: str, principal: Principal, now: datetime) -> CotEvent | None:
        """The current version of a picture item for a catch-up, if still live and releasable.

        Catch-up is paced by the client's transport, so an item is looked up
        when it is due: a newer report sent live in the meantime is never
        overtaken by an older one, and a client that reads slowly during its
        catch-up is not mistaken for a slow consumer.
        """
        entry = self.picture.get(uid)
        if entry is None or entry.event.stale <= now:
            return None
        if not self.releases.decide(entry.marking, principal).allowed:
            return None
        return entry.event

    def detach(self, peer: Peer, now: datetime) -> None:
        group = self._peers.get(peer.principal)
        if group is not None:
            group.discard(peer)
            if not group:
                del self._peers[peer.principal]
        if peer.uid is not None and self._by_uid.get(peer.uid) is peer:
            del self._by_uid[peer.uid]
            entry = self.picture.get(peer.uid)
            marking = entry.marking if entry is not None else self.default_marking
            notice = disconnect_notice(peer.uid, peer.callsign, now)
            self._broadcast(notice, marking, exclude=peer)
        if peer.callsign is not None and self._by_callsign.get(peer.callsign) is peer:
            del self._by_callsign[peer.callsign]

    def change_principal(self, peer: Peer, principal: Principal) -> None:
        """Apply a changed identity (clearance, nation, COIs) to a live connection."""
        group = self._peers.get(peer.principal)
        if group is not None:
            group.discard(peer)
            if not group:
                del self._peers[peer.principal]
        peer.principal = principal
        self._peers.setdefault(principal, set()).add(peer)

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
        self, sender: Peer | None, principal: Principal, event: CotEvent, now: datetime
    ) -> None:
        """Accept one event from ``principal`` (``sender`` is None for datagrams)."""
        try:
            marking = self.resolve_marking(event, principal)
            self._check_send(marking, principal, event)
        except Refusal as refusal:
            self.refuse(sender, principal, event, refusal)
            return
        if self._stamp and event.access is None:
            # Every item that leaves carries its marking, even when the sender omitted it.
            # The event was decoded for this call and nobody else holds it yet.
            event = event.with_marking(*marking_to_cot(marking), in_place=True)
        self.stats.events_in += 1
        if sender is not None:
            self._bind(sender, event)
        if self._history is not None:
            self._history(event, marking, principal, now)
        if keeps_in_picture(event) and self.picture.update(event, marking, principal.callsign):
            self._notify_listeners(event, marking, principal)
        self.route(sender, principal, event, marking)

    def publish(
        self, event: CotEvent, marking: Marking, now: datetime, origin: Principal | None = None
    ) -> None:
        """Put a server-made event (a request marker, a simulated track) on the picture.

        The server is trusted to mark what it makes, so there is no send check,
        but every exit still applies the release decision to ``marking``.
        """
        if self._stamp:
            event = event.with_marking(*marking_to_cot(marking))
        self.stats.events_in += 1
        sender = origin or _SERVER
        if self._history is not None:
            self._history(event, marking, sender, now)
        if keeps_in_picture(event) and self.picture.update(event, marking, sender.callsign):
            self._notify_listeners(event, marking, sender)
        self._broadcast(event, marking, exclude=None)
        self.wake()

    def notify_views(self, message: dict[str, object], marking: Marking) -> None:
        """Send a JSON message (request or readiness news) to the live views allowed to see it."""
        for listener in list(self._listeners):
            if self.releases.decide(marking, listener.principal).allowed:
                listener.message(message)

    def refuse(
        self, sender: Peer | None, principal: Principal, event: CotEvent, refusal: Refusal
    ) -> None:
        self.stats.refuse(refusal.reason)
        peer = sender.peer_name if sender is not None else "udp"
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

    def _bind(self, sender: Peer, event: CotEvent) -> None:
        # The first SA with a contact endpoint binds uid and callsign to the
        # connection. A uid or callsign already bound to another live connection
        # is not taken over: direct messages to it must keep reaching its owner.
        if sender.uid is None and event.endpoint and event.type.startswith("a-"):
            owner = self._by_uid.get(event.uid)
            if owner is not None and owner is not sender:
                log.warning(
                    "%s claims uid %s, bound to %s: not rebound",
                    sender.peer_name,
                    event.uid,
                    owner.peer_name,
                )
                return
            sender.uid = event.uid
            self._by_uid[event.uid] = sender
        if sender.uid == event.uid:
            callsign = event.callsign
            if callsign and callsign != sender.callsign:
                owner = self._by_callsign.get(callsign)
                if owner is not None and owner is not sender:
                    return
                if sender.callsign is not None and self._by_callsign.get(sender.callsign) is sender:
                    del self._by_callsign[sender.callsign]
                sender.callsign = callsign
                self._by_callsign[callsign] = sender
            if event.group_name:
                sender.group_name = event.group_name

    def route(
        self, sender: Peer | None, principal: Principal, event: CotEvent, marking: Marking
    ) -> None:
        if event.dest_callsigns or event.dest_uids:
            targets = self._addressed(event.dest_callsigns, event.dest_uids)
            self._deliver_directed(sender, principal, event, marking, targets)
            return
        chat = event.chat if is_chat(event) else None
        if chat is not None and chat.chatroom and chat.chatroom != ALL_CHAT_ROOMS:
            team = [p for p in self.peers() if p.group_name == chat.chatroom and p is not sender]
            if team:
                self._deliver_directed(sender, principal, event, marking, team)
                return
            # A direct chat without <marti>: the chat's id is the recipient's uid.
            targets = self._addressed((chat.chatroom,), (chat.id,) if chat.id else ())
            self._deliver_directed(sender, principal, event, marking, targets)
            return
        self._broadcast(event, marking, exclude=sender)

    def _addressed(self, callsigns: Iterable[str], uids: Iterable[str]) -> list[Peer]:
        found: dict[int, Peer] = {}
        for uid in uids:
            peer = self._by_uid.get(uid)
            if peer is not None:
                found[id(peer)] = peer
        for callsign in callsigns:
            peer = self._by_callsign.get(callsign)
            if peer is not None:
                found[id(peer)] = peer
        return list(found.values())

    def _broadcast(self, event: CotEvent, marking: Marking, exclude: Peer | None) -> None:
        # Written at the end of the turn, once per audience: see fanout.py.
        key = event.uid if keeps_in_picture(event) else None
        self.fanout.add(Broadcast(event, marking, key, exclude))

    def flush(self) -> None:
        """Deliver this turn's broadcasts (called once per event-loop turn)."""
        if not len(self.fanout):
            return
        delivered, withheld = self.fanout.flush(list(self._peers.items()), self.releases.decide)
        self.stats.deliveries += delivered
        self.stats.release_denied += withheld

    def _deliver_directed(
        self,
        sender: Peer | None,
        principal: Principal,
        event: CotEvent,
        marking: Marking,
        targets: Iterable[Peer],
    ) -> None:
        for peer in targets:
            if peer is sender:
                continue
            decision = self.releases.decide(marking, peer.principal)
            if decision.allowed:
                peer.send(None, event)
                self.stats.deliveries += 1
                continue
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

    def _notify_listeners(self, event: CotEvent, marking: Marking, principal: Principal) -> None:
        if not self._listeners:
            return
        entry = self.picture.get(event.uid)
        if entry is None:
            return
        for listener in list(self._listeners):
            if self.releases.decide(marking, listener.principal).allowed:
                listener.item(entry)

    def sweep(self, now: datetime) -> int:
        """Drop stale items from the picture and tell the live views."""
        gone = self.picture.expire(now)
        for entry in gone:
            for listener in list(self._listeners):
                if self.releases.decide(entry.marking, listener.principal).allowed:
                    listener.removed(entry.event.uid, "stale")
        return len(gone)

    def restore(self, entries: Iterable[tuple[CotEvent, Marking, str | None]]) -> int:
        """Rebuild the picture from history after a restart."""
        count = 0
        for event, marking, sender in entries:
            if self.picture.update(event, marking, sender):
                count += 1
        return count

    def releasable_picture(self, principal: Principal, now: datetime) -> list[PictureEntry]:
        decide = self.releases.decide
        return [e for e in self.picture.current(now) if decide(e.marking, principal).allowed]

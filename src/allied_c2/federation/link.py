"""One federation link as a state machine (sans-I/O: messages in, decisions out).

The I/O edge (listener.py, dialer.py, service.py) tells the link what happened
(connected, dropped, a message arrived, an item was accepted) and does what the
link answers (send these items, ingest this event, wait this long). States::

    idle ──connecting()──▶ connecting ──up()──▶ up ──down()──▶ backoff (dialer)
      ▲                                         │                 or idle (listener)
      └──────────────────────── close() ────────┴──▶ closed (removed, revoked)

Outbound, every accepted item goes through the guard when it is offered; what
may cross waits in the bounded backlog until the link is up. What was written
to the stream in the last ``resend_window`` is kept and put back in front when
the link drops, because a peer killed with items in its socket buffers, or
before its history writer committed them (its ``store_flush_interval``), has
lost them; the peer drops the duplicates this causes. Inbound, a message whose
provenance holds this server's id is a loop, one past its hop limit is dropped
(both as a Federation Hub does), and an event already held (same uid, time and
type) is a duplicate.
"""

from __future__ import annotations

from collections import Counter, OrderedDict, deque
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

from allied_c2.cot.errors import CotError
from allied_c2.cot.event import CotEvent
from allied_c2.cot.validation import check_uid, check_xml_text
from allied_c2.federation import wire
from allied_c2.federation.backlog import Backlog
from allied_c2.federation.guard import Cross, Deny, Guard, Offer, PeerView
from allied_c2.federation.proto import fig_pb2

# TAK Server reconnects after reconnectInterval (30 s, federation-v2.md §1); the
# first retries come sooner so a peer that restarts is back within seconds.
BACKOFF_FIRST_S = 1.0
BACKOFF_MAX_S = 30.0
# Duplicate detection remembers this many (uid, time, type) keys per link.
SEEN_MAX = 50_000


class State(StrEnum):
    IDLE = "idle"
    CONNECTING = "connecting"
    UP = "up"
    BACKOFF = "backoff"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class Queued:
    offer: Offer
    cross: Cross


@dataclass(frozen=True, slots=True)
class InEvent:
    event: CotEvent
    provenance: wire.Provenance


@dataclass(frozen=True, slots=True)
class InContact:
    uid: str
    callsign: str
    deleted: bool
    notice: CotEvent | None = None  # the t-x-d-d a DELETE becomes


@dataclass(frozen=True, slots=True)
class Discard:
    reason: str  # loop, hops, duplicate, malformed, empty
    detail: str = ""


Inbound = InEvent | InContact | Discard


@dataclass(slots=True)
class LinkStats:
    items_in: int = 0
    items_out: int = 0
    catch_up_out: int = 0
    resent: int = 0
    connects: int = 0
    denied: Counter[str] = field(default_factory=Counter)
    discarded_in: Counter[str] = field(default_factory=Counter)
    refused_in: Counter[str] = field(default_factory=Counter)
    sanitised: Counter[str] = field(default_factory=Counter)
    last_seen: datetime | None = None
    last_error: str | None = None
    state_since: datetime | None = None


def event_key(event: CotEvent) -> tuple[str, int, str]:
    """What makes two copies of an event the same item (ms: TAK's time resolution)."""
    return (event.uid, int(event.time.timestamp() * 1000), event.type)


class Link:
    def __init__(
        self,
        peer: PeerView,
        guard: Guard,
        server_id: str,
        *,
        backlog_max: int = 10_000,
        resend_window: timedelta = timedelta(seconds=10),
    ) -> None:
        self.peer = peer
        self.guard = guard
        self.server_id = server_id
        self.resend_window = resend_window
        self.state = State.IDLE
        self.stats = LinkStats()
        self.backlog: Backlog[Queued] = Backlog(backlog_max)
        self._recent: deque[tuple[datetime, Queued]] = deque()
        self._failures = 0
        self._seen: OrderedDict[tuple[str, int, str], None] = OrderedDict()
        self.contacts: dict[str, str] = {}  # uid -> callsign, as the peer told us
        self.cursor: datetime | None = None  # ``at`` of the newest item written out
        self.peer_address: str | None = None

    @property
    def name(self) -> str:
        return self.peer.name

    # -- lifecycle ------------------------------------------------------------

    def _enter(self, state: State, now: datetime) -> None:
        self.state = state
        self.stats.state_since = now

    def connecting(self, now: datetime) -> None:
        if self.state is not State.CLOSED:
            self._enter(State.CONNECTING, now)

    def up(self, now: datetime, address: str | None = None) -> None:
        if self.state is State.CLOSED:
            return
        self._enter(State.UP, now)
        self._failures = 0
        self.stats.connects += 1
        self.stats.last_seen = now
        self.stats.last_error = None
        self.peer_address = address

    def down(self, now: datetime, reason: str, *, dialer: bool) -> float:
        """The link dropped: put back what the peer may have lost; the seconds to wait."""
        if self.state is State.CLOSED:
            return BACKOFF_MAX_S
        self.stats.last_error = reason
        if self._recent:
            # Oldest first, before everything still queued.
            resend = [(q, q.offer.event.type) for _, q in self._recent]
            self.stats.resent += len(resend)
            self.backlog.push_front(resend)
            self._recent.clear()
        self._enter(State.BACKOFF if dialer else State.IDLE, now)
        self.peer_address = None
        delay = min(BACKOFF_MAX_S, BACKOFF_FIRST_S * 2.0 ** min(self._failures, 16))
        self._failures += 1
        return delay

    def close(self, now: datetime) -> None:
        self._enter(State.CLOSED, now)

    def seen_alive(self, now: datetime) -> None:
        self.stats.last_seen = now

    # -- outbound ---------------------------------------------------------------

    def offer(self, offer: Offer, now: datetime) -> Deny | None:
        """Guard one accepted item for this peer; None when it was queued to cross."""
        if self.state is State.CLOSED:
            return None
        verdict = self.guard.decide(offer, self.peer, now)
        if isinstance(verdict, Deny):
            self.stats.denied[verdict.reason] += 1
            return verdict
        dropped = self.backlog.push(Queued(offer, verdict), offer.event.type)
        if dropped:
            self.stats.last_error = f"backlog full: dropped {dropped} oldest item(s)"
        return None

    def catch_up(self, offers: list[Offer], now: datetime) -> int:
        """Queue the releasable picture in front of the backlog (on connect).

        Items whose uid already waits in the backlog are skipped: the backlog
        holds newer reports of them, which must not be overtaken.
        """
        waiting = {q.offer.event.uid for q in self.backlog.items()}
        front: list[tuple[Queued, str]] = []
        for offer in offers:
            if offer.event.uid in waiting:
                continue
            verdict = self.guard.decide(offer, self.peer, now)
            if isinstance(verdict, Cross):
                front.append((Queued(offer, verdict), offer.event.type))
        self.backlog.push_front(front)
        self.stats.catch_up_out += len(front)
        return len(front)

    def take(self, limit: int, now: datetime) -> list[Queued]:
        """Items to write now (the link is up); kept for a resend until the window passes."""
        if self.state is not State.UP:
            return []
        items = self.backlog.pop(limit)
        if not items:
            return items
        recent = self._recent
        keep = self.resend_window > timedelta(0)  # 0 turns resending off
        for item in items:
            if keep:
                recent.append((now, item))
            if item.cross.rule is not None:
                self.stats.sanitised[item.cross.rule] += 1
            at = item.offer.at
            if self.cursor is None or at > self.cursor:
                self.cursor = at
        horizon = now - self.resend_window
        while recent and (recent[0][0] < horizon or len(recent) > self.backlog.limit):
            recent.popleft()
        self.stats.items_out += len(items)
        return items

    def message(self, item: Queued, server_name: str) -> fig_pb2.FederatedEvent:
        return wire.federated_event(item.cross.event, self.server_id, server_name)

    def set_peer(self, peer: PeerView, now: datetime) -> None:
        """The federate's registration changed: re-decide what waits under the new view.

        The contacts the peer told us about stay (they are the peer's, not the
        registration's).
        """
        peer = replace(
            peer,
            contact_uids=frozenset(self.contacts),
            contact_callsigns=frozenset(self.contacts.values()),
        )
        changed = (peer.principal, peer.rules, peer.relay_from) != (
            self.peer.principal,
            self.peer.rules,
            self.peer.relay_from,
        )
        self.peer = peer
        if not changed:
            return
        kept: list[tuple[Queued, str]] = []
        for queued in self.backlog.items():
            verdict = self.guard.decide(queued.offer, peer, now)
            if isinstance(verdict, Cross):
                kept.append((Queued(queued.offer, verdict), queued.offer.event.type))
            else:
                self.stats.denied[verdict.reason] += 1
        self.backlog.replace(kept)

    # -- inbound ----------------------------------------------------------------

    def remember(self, key: tuple[str, int, str]) -> None:
        seen = self._seen
        seen[key] = None
        if len(seen) > SEEN_MAX:
            seen.popitem(last=False)

    def receive(self, message: fig_pb2.FederatedEvent, now: datetime) -> Inbound:
        self.stats.last_seen = now
        provenance = wire.provenance_of(message)
        if self.server_id in provenance.server_ids:
            return self._discard("loop", "this server is in the provenance")
        if 0 < provenance.max_hops <= provenance.current_hops - 1:
            return self._discard("hops", f"{provenance.current_hops} hops of {provenance.max_hops}")
        if message.HasField("contact") and not message.HasField("event"):
            return self._contact(message, now)
        if not message.HasField("event"):
            return self._discard("empty", "neither an event nor a contact")
        try:
            event = wire.cot_event(message.event)
        except CotError as exc:
            return self._discard("malformed", str(exc))
        key = event_key(event)
        if key in self._seen:
            return self._discard("duplicate", event.uid)
        self.remember(key)
        if event.type.startswith("a-") and event.endpoint and event.callsign:
            self._learn(event.uid, event.callsign)
        self.stats.items_in += 1
        return InEvent(event, provenance)

    def _contact(self, message: fig_pb2.FederatedEvent, now: datetime) -> Inbound:
        entry = message.contact
        if not entry.uid:
            return self._discard("malformed", "contact without uid")
        try:  # both end up in XML (a disconnect notice) and in Marti contact lists
            check_uid(entry.uid)
            check_xml_text(entry.callsign)
        except (CotError, ValueError) as exc:
            return self._discard("malformed", f"contact: {exc}")
        if entry.operation == wire.CONTACT_DELETE:
            self.contacts.pop(entry.uid, None)
            self._rebuild_peer()
            try:
                notice = wire.deleted_contact(message, now)
            except CotError as exc:
                return self._discard("malformed", str(exc))
            return InContact(entry.uid, entry.callsign, True, notice)
        if entry.operation in (wire.CONTACT_CREATE, wire.CONTACT_UPDATE):
            self._learn(entry.uid, entry.callsign or entry.uid)
            return InContact(entry.uid, entry.callsign, False)
        return self._discard("contact_operation", str(entry.operation))

    def _learn(self, uid: str, callsign: str) -> None:
        if self.contacts.get(uid) != callsign:
            self.contacts[uid] = callsign
            self._rebuild_peer()

    def _rebuild_peer(self) -> None:
        self.peer = replace(
            self.peer,
            contact_uids=frozenset(self.contacts),
            contact_callsigns=frozenset(self.contacts.values()),
        )

    def _discard(self, reason: str, detail: str) -> Discard:
        self.stats.discarded_in[reason] += 1
        return Discard(reason, detail)

    def refused(self, reason: str) -> None:
        """The hub refused an inbound item (bad marking, over the accreditation…)."""
        self.stats.refused_in[reason] += 1

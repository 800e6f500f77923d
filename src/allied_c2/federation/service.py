"""The federation links of a running server: the hub's outlet in, gRPC out (I/O edge).

Each registered federate has one :class:`~allied_c2.federation.link.Link`. Every
event the hub accepts is offered to every link through ``Hub.add_outlet`` (the
one seam: no routing is copied here); what the guard lets through waits in the
link's backlog until the listener or the dialer writes it. What a federate
sends is ingested as that federate's principal (``Hub.ingest``: its nation is
the originator whatever the item claims, its marking must be valid and within
the accreditation), then routed like any local item. The store is polled for
changes: an added federate gets a link, an updated one a new guard view, a
removed one loses its link at once. Outbound cursors are saved every second.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from allied_c2.config import Config
from allied_c2.federation import wire
from allied_c2.federation.certs import FederationIdentity
from allied_c2.federation.channel import subscription
from allied_c2.federation.contacts import FederatedContacts, RemoteContact
from allied_c2.federation.guard import Deny, Guard, Offer, PeerView
from allied_c2.federation.identity import federate_of, federate_principal, tak_fingerprint
from allied_c2.federation.inbound import receive
from allied_c2.federation.link import Link, State
from allied_c2.federation.proto import fig_pb2
from allied_c2.federation.replay import seed_and_replay
from allied_c2.federation.rules import NO_RULES, RulesError, RuleSet, load_rules
from allied_c2.security.audience import Reader
from allied_c2.security.limits import RateLimiter
from allied_c2.security.principals import Principal
from allied_c2.server.hub import Hub
from allied_c2.server.peers import Accepted, AuditSink
from allied_c2.store.federates import FederateRecord, FederateStore

if TYPE_CHECKING:
    from allied_c2.federation.alliance import AllianceRelay

log = logging.getLogger("allied_c2.federation")

BATCH = 256  # items written per wake-up of an outbound stream
POLL_S = 1.0  # store polling and cursor saving
# Guard denials are audited and logged at most once a second per federate and
# reason (burst 5); the rest are counted and ride on the next entry.
DENIAL_RATE, DENIAL_BURST = 1.0, 5
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(eq=False)
class Member:
    """One federate at run time."""

    record: FederateRecord
    link: Link
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    stop: asyncio.Event | None = None  # set to end the outbound stream in use
    dialer: asyncio.Task[None] | None = None
    session: Any = None  # the listener's session (listener.py), when the peer dialled us

    @property
    def name(self) -> str:
        return self.record.name

    @property
    def principal(self) -> Principal:
        return self.link.peer.principal


class FederationService:
    def __init__(
        self,
        hub: Hub,
        store: FederateStore,
        audit: AuditSink | None,
        identity: FederationIdentity,
        config: Config,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.hub = hub
        self.store = store
        self.audit = audit
        self.identity = identity
        self.config = config
        self.now = clock or (lambda: datetime.now(UTC))
        self.guard = Guard(hub.audience, hub.policy, identity.server_name, config.federation_nation)
        self.members: dict[str, Member] = {}
        self.removed: dict[str, FederateRecord] = {}  # by fingerprint: refused, audited
        self.contacts = FederatedContacts()
        self.resend_window = timedelta(seconds=config.federation_resend_window)
        self._limiter = RateLimiter(DENIAL_RATE, DENIAL_BURST)
        self._revision = -1
        self._tasks: list[asyncio.Task[None]] = []
        self._server: Any = None
        self._roots = b""
        self.address: str | None = None
        self.relay: AllianceRelay | None = None  # requests and readiness (alliance.py)
        hub.add_outlet(self._accepted)

    # -- life ---------------------------------------------------------------------

    async def start(self) -> str | None:
        """Load the federates, replay what their links missed, listen, dial."""
        revision = await asyncio.to_thread(self.store.revision)
        records = await asyncio.to_thread(self.store.list, include_removed=True)
        self._apply(records)
        self._revision = revision
        await seed_and_replay(self)
        if self.config.federation is not None:
            from allied_c2.federation.listener import start_listener

            self._server, self.address = await start_listener(self, self.config.federation)
        for member in self.members.values():
            self._start_dialer(member)
        self._tasks.append(asyncio.create_task(self._poll(), name="federation-poll"))
        return self.address

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for member in list(self.members.values()):
            self._close(member, "server stopping")
        for task in [m.dialer for m in self.members.values() if m.dialer is not None]:
            task.cancel()
        if self._server is not None:
            await self._server.stop(1.0)
        await asyncio.to_thread(self._save_cursors)

    def _start_dialer(self, member: Member) -> None:
        if member.record.connect and member.dialer is None:
            from allied_c2.federation.dialer import run_dialer

            member.dialer = asyncio.create_task(
                run_dialer(self, member), name=f"dial-{member.name}"
            )

    # -- the federates ------------------------------------------------------------

    def peer_view(self, record: FederateRecord) -> PeerView:
        rules: RuleSet = NO_RULES
        if record.rules:
            try:
                rules = load_rules(record.rules, record.rules_name or "rules.yaml", self.hub.policy)
            except RulesError as exc:  # validated when stored; a policy change can break it
                log.error("federate %s: rules no longer valid, none applied: %s", record.name, exc)
        principal = federate_principal(record.name, record.nation, record.clearance, record.cois)
        return PeerView(record.name, principal, rules, record.relay_from)

    def _apply(self, records: list[FederateRecord]) -> None:
        now = self.now()
        active = {r.name: r for r in records if not r.revoked}
        self.removed = {r.fingerprint: r for r in records if r.revoked}
        for name in list(self.members):
            if (
                name not in active
                or active[name].fingerprint != self.members[name].record.fingerprint
            ):
                self._remove(self.members.pop(name), "removed by an administrator")
        for name, record in active.items():
            member = self.members.get(name)
            if member is None:
                link = Link(
                    self.peer_view(record),
                    self.guard,
                    self.identity.server_id,
                    backlog_max=self.config.federation_backlog_max,
                    resend_window=self.resend_window,
                )
                self.members[name] = Member(record, link)
                log.info("federate %s (%s, %s) registered", name, record.nation, record.clearance)
                continue
            if record == member.record:
                continue
            dial_changed = (
                record.connect != member.record.connect or record.peer_ca != member.record.peer_ca
            )
            member.record = record
            member.link.set_peer(self.peer_view(record), now)
            if dial_changed:
                self._close(member, "connection settings changed")
                if member.dialer is not None:
                    member.dialer.cancel()
                    member.dialer = None
        self._roots = self._trusted_roots()

    def _remove(self, member: Member, reason: str) -> None:
        self._close(member, reason)
        member.link.close(self.now())
        if member.dialer is not None:
            member.dialer.cancel()
        self.contacts.forget(member.name)
        log.warning("federate %s: link closed (%s)", member.name, reason)

    def _close(self, member: Member, reason: str) -> None:
        """End the link's streams now (the dialer reconnects unless the federate is gone)."""
        if member.stop is not None:
            member.stop.set()
        member.wake.set()
        if member.session is not None:
            member.session.close(reason)

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(POLL_S)
            try:
                revision = await asyncio.to_thread(self.store.revision)
                if revision != self._revision:
                    records = await asyncio.to_thread(self.store.list, include_removed=True)
                    self._revision = revision
                    self._apply(records)
                    for member in self.members.values():
                        self._start_dialer(member)
                await asyncio.to_thread(self._save_cursors)
                if self._server is not None:
                    from allied_c2.federation.listener import check_health

                    check_health(self)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("federation housekeeping failed; retrying")

    def _save_cursors(self) -> None:
        cursors = {m.name: m.link.cursor for m in self.members.values() if m.link.cursor}
        self.store.save_cursors({k: v for k, v in cursors.items() if v is not None})

    def _trusted_roots(self) -> bytes:
        """The CAs a federate's certificate may chain to. Removed federates' CAs and
        ours stay: a removed federate, or a certificate of this server's CA that is no
        federate, then reaches :meth:`identify` and is refused there, and audited."""
        cas = {m.record.peer_ca.strip() for m in self.members.values()}
        cas |= {r.peer_ca.strip() for r in self.removed.values()}
        cas.add(self.identity.ca_pem.decode("ascii").strip())
        return ("\n".join(sorted(cas)) + "\n").encode("ascii")

    def roots(self) -> bytes:
        # Read by gRPC at each TLS handshake, possibly off the event loop: one
        # attribute read of bytes rebuilt whenever the federates change.
        return self._roots

    def subscription(self, *, server: bool) -> fig_pb2.Subscription:
        return subscription(self.identity, server=server)

    def link_up(self, member: Member, address: str, *, dialer: bool) -> None:
        member.link.up(self.now(), address)
        self.catch_up(member)
        if self.relay is not None:
            self.relay.link_up(member)
        member.wake.set()
        log.info(
            "federate %s: link up (%s %s), %d item(s) waiting",
            member.name,
            "dialled" if dialer else "from",
            address,
            len(member.link.backlog),
        )

    def link_down(self, member: Member, reason: str, *, dialer: bool) -> float:
        was_up = member.link.state is State.UP
        delay = member.link.down(self.now(), reason, dialer=dialer)
        if was_up or dialer:
            log.warning(
                "federate %s: link down (%s)%s",
                member.name,
                reason,
                f", dialling again in {delay:.0f} s" if dialer else "",
            )
        dropped = member.link.backlog.dropped
        if dropped.total:
            log.warning(
                "federate %s: backlog limit %d: %d position update(s) and %d other item(s) dropped",
                member.name,
                member.link.backlog.limit,
                dropped.positions,
                dropped.others,
            )
        return delay

    def identify(self, fingerprint: str, address: str) -> Member | None:
        """The federate a certificate stands for; None (refused, audited) otherwise."""
        for member in self.members.values():
            if member.record.fingerprint == fingerprint:
                return member
        removed = self.removed.get(fingerprint)
        reason = f"federate {removed.name} was removed" if removed else "unknown certificate"
        log.warning(
            "federation: refused %s from %s: %s", tak_fingerprint(fingerprint), address, reason
        )
        if self.audit is not None:
            detail: dict[str, object] = {"reason": reason, "peer": address}
            self.audit("federation", "federation.refused", fingerprint, detail)
        return None

    # -- outbound -------------------------------------------------------------------

    def _accepted(self, accepted: Accepted) -> None:
        sender = accepted.sender.callsign
        via = federate_of(sender)
        offer = Offer(
            accepted.event,
            accepted.marking,
            accepted.addressing,
            accepted.origin,
            sender,
            accepted.at,
            via if via in self.members else None,
        )
        if offer.via is not None and accepted.event.type.startswith("a-"):
            self.contacts.sent(offer.via, accepted.event.uid, accepted.marking)
        self.offer(offer)

    def offer(self, offer: Offer) -> None:
        now = self.now()
        for member in self.members.values():
            denied = member.link.offer(offer, now)
            if denied is None:
                member.wake.set()
            elif denied.audited:
                self._denied(member, offer, denied)

    def _denied(self, member: Member, offer: Offer, denied: Deny) -> None:
        key = (member.name, denied.reason)
        if not self._limiter.allow(key):
            return
        earlier = self._limiter.pop_suppressed(key)
        log.warning(
            "federation guard: %s not sent to %s (%s): %s%s",
            offer.event.uid,
            member.name,
            denied.reason,
            denied.detail,
            f" (+{earlier} more since the last entry)" if earlier else "",
        )
        if self.audit is not None:
            detail: dict[str, object] = {
                "federate": member.name,
                "reason": denied.reason,
                "detail": denied.detail,
                "type": offer.event.type,
                "marking": offer.marking.banner(),
                "peer": f"federate/{member.name}/{denied.reason}",
            }
            if earlier:
                detail["suppressed_before"] = earlier
            self.audit(offer.sender, "federation.denied", offer.event.uid, detail)

    def catch_up(self, member: Member) -> None:
        """On connect: the picture as the guard lets the peer have it, before the backlog."""
        now = self.now()
        offers = [
            Offer(
                e.event,
                e.marking,
                e.addressing,
                e.origin,
                e.sender or "",
                EPOCH,
                via if (via := federate_of(e.sender or "")) in self.members else None,
            )
            for e in self.hub.picture.current(now)
        ]
        member.link.catch_up(offers, now)

    def contact_messages(self, member: Member) -> list[fig_pb2.FederatedEvent]:
        """Local contacts the peer may know of (their session's roll-up is releasable)."""
        reader = member.link.peer.reader
        messages = []
        for peer in self.hub.peers():
            marking = self.hub.contact_marking(peer)
            if peer.uid is None or marking is None:
                continue
            if self.hub.audience.allows(marking, reader):
                messages.append(wire.contact_entry(peer.uid, peer.callsign or peer.uid))
        return messages

    async def outbound(
        self, member: Member, stop: asyncio.Event
    ) -> AsyncIterator[fig_pb2.FederatedEvent]:
        """The messages of one outbound stream, until ``stop`` or the link goes down."""
        for message in self.contact_messages(member):
            yield message
        link, name = member.link, self.identity.server_name
        while not stop.is_set() and link.state is State.UP:
            items = link.take(BATCH, self.now())
            if not items:
                member.wake.clear()
                if not link.backlog:
                    await member.wake.wait()
                continue
            for item in items:
                yield link.message(item, name)

    def inbound(self, member: Member, message: fig_pb2.FederatedEvent) -> None:
        try:
            receive(self, member, message)
        except Exception:  # a bug on one message must not end the peer's stream
            log.exception("federate %s: inbound message failed", member.name)

    def visible_contacts(self, reader: Reader) -> list[RemoteContact]:
        """Federated contacts the reader may know of (contacts.py)."""
        return self.contacts.visible(self.hub, reader)

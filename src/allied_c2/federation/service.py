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

The guard, the links and the hub stay on the server's event loop; gRPC (the
listener, the dialers and their streams) runs on a loop thread of its own
(loop_thread.py), fed through pipes (pipes.py): a pump per outbound stream
takes what the link lets cross and hands it over, and what peers send comes
back in batches.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections.abc import Callable
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
from allied_c2.federation.loop_thread import Flag, LoopThread, cancel_others
from allied_c2.federation.pipes import Inbox, Outbox, feed
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
    wake: Flag  # the outbound pump looks at the link again
    outbox: Outbox | None = None  # the outbound stream in use
    dialer: concurrent.futures.Future[None] | None = None  # on the gRPC loop
    session: Any = None  # the listener's session (listener.py), when the peer dialled us
    pumps: set[asyncio.Task[None]] = field(default_factory=set)

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
        self._server: Any = None  # the gRPC server, on the gRPC loop
        self.thread: LoopThread | None = None
        self.inbox: Inbox | None = None
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
        self.thread = LoopThread(asyncio.get_running_loop())
        self.inbox = Inbox(self.thread, self.inbound)
        if self.config.federation is not None:
            from allied_c2.federation.listener import start_listener

            started = start_listener(self, self.config.federation)
            self._server, self.address = await self.thread.run(started)
        for member in self.members.values():
            self._start_dialer(member)
        self._tasks.append(asyncio.create_task(self._poll(), name="federation-poll"))
        return self.address

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for member in list(self.members.values()):
            self._close(member, "server stopping")
        for dialer in [m.dialer for m in self.members.values() if m.dialer is not None]:
            dialer.cancel()
        if self.thread is not None:
            await self.thread.run(_stop_server(self._server))
            self.thread.stop()
        await asyncio.to_thread(self._save_cursors)

    def _start_dialer(self, member: Member) -> None:
        if member.record.connect and member.dialer is None and self.thread is not None:
            from allied_c2.federation.dialer import run_dialer

            member.dialer = self.thread.submit(run_dialer(self, member))

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
                self.members[name] = Member(record, link, Flag(asyncio.get_running_loop()))
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
        if member.outbox is not None:
            member.outbox.stop()
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

    def open_outbound(self, member: Member, address: str, *, dialer: bool) -> Outbox:
        """A stream to the peer opened: the link is up, and a pump feeds the new outbox.

        A stream opened while another is in use replaces it (a restarted peer need
        not wait for the old connection to time out); what the old one wrote lately
        is sent again on the new one (``Link.down``)."""
        assert self.thread is not None
        old = member.outbox
        if old is not None:
            old.stop()
            if member.link.state is State.UP:
                self.link_down(member, "replaced by a new connection", dialer=dialer)
        outbox = Outbox(self.thread, member.wake)
        member.outbox = outbox
        self.link_up(member, address, dialer=dialer)
        pump = asyncio.create_task(self._pump(member, outbox), name=f"pump-{member.name}")
        member.pumps.add(pump)
        pump.add_done_callback(member.pumps.discard)
        return outbox

    def close_outbound(self, member: Member, outbox: Outbox, reason: str, *, down: bool) -> None:
        """A stream ended; the link goes down (``down``) unless a newer stream took over."""
        outbox.stop()
        if member.outbox is outbox:
            member.outbox = None
            if down:
                self.link_down(member, reason, dialer=False)

    async def _pump(self, member: Member, outbox: Outbox) -> None:
        """Feed one outbox from the link until the stream ends or the link goes down."""
        try:
            outbox.put(self.contact_messages(member))
            await feed(member.link, outbox, member.wake, self.identity.server_name, self.now)
        except Exception:  # a bug ends this stream (the link is dialled or awaited again)
            log.exception("federate %s: outbound pump failed", member.name)
            outbox.stop()

    def inbound(self, member: Member, message: fig_pb2.FederatedEvent) -> None:
        receive(self, member, message)

    def visible_contacts(self, reader: Reader) -> list[RemoteContact]:
        """Federated contacts the reader may know of (contacts.py)."""
        return self.contacts.visible(self.hub, reader)


async def _stop_server(server: Any) -> None:
    """On the gRPC loop: stop the listener, then end the dialers and streams still there."""
    if server is not None:
        await server.stop(1.0)
    await cancel_others()

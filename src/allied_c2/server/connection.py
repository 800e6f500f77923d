"""The I/O edge: asyncio protocols that feed bytes to a session and the relay.

Nothing here decides anything: framing and negotiation live in
:mod:`allied_c2.server.session`, routing and release in :mod:`allied_c2.server.hub`.
Connections use asyncio's transport/protocol API (not streams) because it
costs the least per connection and per write, and transport flow control
(``pause_writing``) tells us exactly when a client stops reading.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections import deque
from datetime import UTC, datetime
from typing import TYPE_CHECKING, cast

from allied_c2.cot.errors import CotError
from allied_c2.cot.event import CotEvent, WireFormat
from allied_c2.cot.framing import FramingError, XmlFrame, parse_datagram
from allied_c2.cot.protocodec import parse_proto
from allied_c2.cot.xmlcodec import parse_xml
from allied_c2.security.limits import RateLimiter
from allied_c2.security.principals import Principal
from allied_c2.server.fanout import Broadcast
from allied_c2.server.outqueue import OutQueue, Overflow
from allied_c2.server.session import (
    ClientSession,
    Close,
    Consumed,
    Pinged,
    Received,
    Refused,
    Reply,
)

if TYPE_CHECKING:
    from allied_c2.server.service import CotService

log = logging.getLogger("allied_c2.connection")

# Catch-up items queued per event-loop turn: large enough to be quick, small
# enough that live traffic is never held behind a big picture.
CATCH_UP_SLICE = 256
WRITE_BUFFER_HIGH = 256 * 1024
YIELD_AFTER_BYTES = 32 * 1024
MAX_FRAMES_PER_TURN = 64
# At saturation one loop turn can take in well over a thousand events; written
# as one batch, the joined bytes (a megabyte per client) fall out of the CPU
# caches while they are copied to each client. Flushing every FANOUT_SLICE
# events keeps them cache-warm: measured about 12 % more deliveries per second
# (`make bench`, saturation) and a smaller peak memory.
FANOUT_SLICE = 512


def utcnow() -> datetime:
    return datetime.now(UTC)


class StreamConnection(asyncio.Protocol):
    """One TCP or TLS client."""

    def __init__(self, service: CotService, *, tls: bool) -> None:
        self.service = service
        self.tls = tls
        self.principal: Principal = service.anonymous
        self.uid: str | None = None
        self.callsign: str | None = None
        self.group_name: str | None = None
        self.peer_name = "?"
        self.fingerprint: str | None = None
        self.transport: asyncio.Transport | None = None
        cfg = service.config
        self.session = ClientSession(
            max_event_bytes=cfg.max_event_bytes,
            garbage_threshold=cfg.garbage_threshold,
            offer_protocol=cfg.offer_tak_protocol,
            negotiation_timeout=cfg.negotiation_timeout,
        )
        self.queue = OutQueue(cfg.queue_max_items, cfg.queue_max_bytes)
        self.paused_since: float | None = None
        self.catch_up: deque[str] | None = None  # uids still to send after connecting
        self.closing = False
        self.attached = False
        self._window_start = 0.0
        self._window_events = 0
        self._reading_paused = False
        self._yielding = False

    @property
    def output_format(self) -> WireFormat:
        return self.session.output_format

    # -- asyncio callbacks -----------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        # Let the transport absorb a burst before it asks us to hold writes.
        self.transport.set_write_buffer_limits(high=WRITE_BUFFER_HIGH)
        peer = transport.get_extra_info("peername")
        self.peer_name = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            # Small CoT events must not wait for delayed ACKs (Nagle): latency, not batching.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.tls:
            principal = self.service.identify_tls(self)
            if principal is None:
                return  # identify_tls closed us with a reason
            self.principal = principal
        now = utcnow()
        for item in self.session.opening(now):
            if isinstance(item, Reply):
                self.send(None, item.event)
        self.service.attach(self, now)
        self.attached = True

    def data_received(self, data: bytes) -> None:
        self._process(data)

    def _process(self, data: bytes) -> None:
        if self.closing:
            return
        service = self.service
        now = utcnow()
        service.note_ingest_start()
        session = self.session
        items = session.receive_data(data, now, MAX_FRAMES_PER_TURN)
        hub = service.hub
        hub.stats.bytes_in += len(data)
        received = 0
        for item in items:
            if isinstance(item, Received):
                received += 1
                try:
                    hub.ingest(self, self.principal, item.event, now)
                except Exception:  # a bug on one event must not cost the others
                    hub.stats.refuse("internal_error")
                    log.exception(
                        "ingest failed for uid=%s from %s", item.event.uid, self.peer_name
                    )
            elif isinstance(item, Reply):
                self._reply(item)
            elif isinstance(item, Pinged):
                hub.stats.pings += 1
            elif isinstance(item, Consumed):
                hub.stats.consumed += 1
            elif isinstance(item, Refused):
                hub.stats.refuse(item.reason)
                log.warning(
                    "refused input from %s (%s): %s: %s",
                    self.peer_name,
                    self.principal.callsign,
                    item.reason,
                    item.detail,
                )
            elif isinstance(item, Close):
                self.close(item.reason, item.detail)
                break
        if received:
            self._throttle(received)
        if not self.closing and (session.more_ready or len(data) >= YIELD_AFTER_BYTES):
            self._yield_reading(more=session.more_ready)
        if len(hub.fanout) >= FANOUT_SLICE:
            service.flush_now()
        else:
            service.schedule_flush()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closing = True
        self.service.paused.discard(self)
        if self.attached:
            self.attached = False
            self.service.detach(self, utcnow())

    def pause_writing(self) -> None:
        # The client is not reading: our queue takes over, coalescing positions.
        # A burst bigger than the transport's buffer pauses us too, so a pause
        # alone is not "behind": the queue holds the bytes, and coalesces only
        # once it passes its bounds (or the client stays paused too long).
        self.paused_since = time.monotonic()
        self.service.paused.add(self)

    def resume_writing(self) -> None:
        self.paused_since = None
        self.service.paused.discard(self)
        self.flush()

    # -- the relay's side ---------------------------------------------------------------

    def _reply(self, reply: Reply) -> None:
        # In the format the session chose for it: the TAK protocol response is XML
        # even though everything after it is protobuf (found by make bench's TAK v1 row).
        if reply.fmt is None:
            self.send(None, reply.event)
        elif not self.closing:
            self._enqueue(None, reply.event.wire(reply.fmt))

    def send(self, key: str | None, event: CotEvent) -> None:
        """Queue one event for this client (replies, direct messages, catch-up)."""
        if self.closing:
            return
        self._enqueue(key, event.wire(self.session.output_format))

    def deliver(self, data: bytes, items: list[Broadcast]) -> None:
        """The turn's broadcasts for this client, joined (see fanout.py)."""
        if self.closing:
            return
        if self.paused_since is None and not self.queue and self.transport is not None:
            self.transport.write(data)  # the common case: one write, no copies kept
            return
        # Behind or with bytes already waiting: queue the batch in order; should the
        # queue have to coalesce, it splits the batch into items (positions merge).
        fmt = self.session.output_format
        queue = self.queue
        was_empty = not queue
        before = queue.stats.coalesced
        try:
            queue.push_batch(data, len(items), lambda: [(i.key, i.event.wire(fmt)) for i in items])
        except Overflow as exc:
            self.service.hub.stats.slow_disconnects += 1
            self.close("slow_consumer", str(exc))
            return
        self._after_enqueue(was_empty, before)

    def _enqueue(self, key: str | None, data: bytes) -> None:
        queue = self.queue
        was_empty = not queue
        before = queue.stats.coalesced
        try:
            queue.push(key, data)
        except Overflow as exc:
            self.service.hub.stats.slow_disconnects += 1
            self.close("slow_consumer", str(exc))
            return
        self._after_enqueue(was_empty, before)

    def _after_enqueue(self, was_empty: bool, coalesced_before: int) -> None:
        coalesced = self.queue.stats.coalesced - coalesced_before
        if coalesced:
            self.service.hub.stats.queue_coalesced += coalesced
        if was_empty and self.paused_since is None:
            self.service.mark_dirty(self)

    def refilter(self, uids: list[str]) -> None:
        """The principal changed: re-send the picture as the new principal may see it.

        What is queued and not yet written was chosen for the old principal, so
        it is dropped rather than sent (a downgrade must not leak through the
        queue); the catch-up then brings the client what it may see now.
        """
        dropped = len(self.queue)
        if dropped:
            self.queue.drain()
            log.info("%s: %d queued items dropped on identity change", self.peer_name, dropped)
        self.begin_catch_up(uids)

    def begin_catch_up(self, uids: list[str]) -> None:
        if uids:
            self.catch_up = deque(uids)
            self.service.mark_dirty(self)

    def flush(self) -> None:
        if self.closing or self.paused_since is not None or self.transport is None:
            return
        if self.catch_up:
            self._feed_catch_up()
        data = self.queue.drain()
        if data:
            self.transport.write(data)

    def _feed_catch_up(self) -> None:
        """Queue the next slice of the catch-up; the rest waits for the next turn."""
        assert self.catch_up is not None
        hub = self.service.hub
        now = utcnow()
        fmt = self.session.output_format
        queue = self.queue
        byte_room = queue.max_bytes // 2
        item_room = queue.max_items // 2
        for _ in range(min(CATCH_UP_SLICE, len(self.catch_up))):
            if queue.nbytes >= byte_room or len(queue) >= item_room:
                break  # the rest follows once the transport has taken this slice
            event = hub.catch_up_item(self.catch_up.popleft(), self, now)
            if event is not None:
                queue.push(event.uid, event.wire(fmt))
                hub.stats.deliveries += 1
        if self.catch_up:
            self.service.mark_dirty(self)
            self.service.schedule_flush()
        else:
            self.catch_up = None

    def close(self, reason: str, detail: str) -> None:
        if self.closing:
            return
        self.closing = True
        self.service.hub.stats.disconnects[reason] += 1
        log.warning(
            "closing %s (%s): %s: %s", self.peer_name, self.principal.callsign, reason, detail
        )
        self.service.paused.discard(self)
        if self.transport is not None:
            # The relay may be iterating over its recipients right now: leaving the
            # hub happens in connection_lost, which the transport calls later.
            if reason in ("slow_consumer", "revoked", "superseded"):
                # Do not wait on a client that will not read (a superseded socket
                # is usually half-open: its phone has moved to another network).
                self.transport.abort()
            else:
                self.transport.close()
        elif self.attached:
            self.attached = False
            self.service.detach(self, utcnow())

    def _throttle(self, received: int) -> None:
        """Pause reading a client that sends more than its share (a flood); nothing is lost."""
        limit = self.service.config.max_events_per_second
        if limit <= 0 or self.transport is None:
            return
        now = time.monotonic()
        if now - self._window_start >= 1.0:
            self._window_start = now
            self._window_events = 0
        self._window_events += received
        if self._window_events > limit and not self._reading_paused:
            self._reading_paused = True
            self.service.hub.stats.refuse("rate_limited")
            self.transport.pause_reading()
            delay = max(0.0, 1.0 - (now - self._window_start))
            asyncio.get_running_loop().call_later(delay, self._resume_reading)

    def _yield_reading(self, more: bool) -> None:
        """Let the loop go round before taking more from this client.

        The event loop reads a socket repeatedly while data keeps coming (libuv up
        to 32 times per turn), and one read can hold hundreds of events; one
        flat-out sender could fill whole turns and hold every delivery back. So a
        client gets at most MAX_FRAMES_PER_TURN events and one large read per
        turn; the rest waits in its session until the next turn.
        """
        assert self.transport is not None
        if not self._yielding:
            self._yielding = True
            self.transport.pause_reading()
            asyncio.get_running_loop().call_soon(self._after_yield, more)

    def _after_yield(self, more: bool) -> None:
        self._yielding = False
        if self.closing or self.transport is None:
            return
        if more:
            self._process(b"")
            if self._yielding:
                return  # still more: it comes back next turn
        if not self._reading_paused and not self.service.ingest_paused:
            self.transport.resume_reading()

    def _resume_reading(self) -> None:
        self._reading_paused = False
        self._window_start = time.monotonic()
        self._window_events = 0
        if not self.closing and self.transport is not None and not self.service.ingest_paused:
            self.transport.resume_reading()

    def resume_after_backpressure(self) -> None:
        if not self._reading_paused and self.transport is not None and not self.closing:
            self.transport.resume_reading()


class DatagramReceiver(asyncio.DatagramProtocol):
    """UDP input (XML or TAK mesh protobuf), treated as the anonymous profile.

    A datagram source has no connection whose reading could be paused, so each
    source address gets a token bucket (``max_datagrams_per_second``, bursts of
    the same size): beyond it datagrams are dropped before parsing and counted
    as ``rate_limited`` refusals. Addresses are kept LRU-bounded (spoofed
    sources cost bounded memory).
    """

    def __init__(self, service: CotService) -> None:
        self.service = service
        rate = service.config.max_datagrams_per_second
        self.limiter = RateLimiter(rate, rate) if rate > 0 else None

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        hub = self.service.hub
        hub.stats.bytes_in += len(data)
        if self.limiter is not None and not self.limiter.allow(addr[0]):
            hub.stats.refuse("rate_limited")
            return
        if len(data) > self.service.config.max_event_bytes:
            hub.stats.refuse("too_large")
            return
        frame = parse_datagram(data)
        try:
            if isinstance(frame, FramingError):
                raise CotError(frame.reason, frame.detail)
            event = (
                parse_xml(frame.data, max_bytes=self.service.config.max_event_bytes)
                if isinstance(frame, XmlFrame)
                else parse_proto(frame.payload)
            )
        except CotError as exc:
            hub.stats.refuse(exc.reason)
            log.warning("refused datagram from %s: %s: %s", addr[0], exc.reason, exc)
            return
        if event is not None:
            self.service.note_ingest_start()
            hub.ingest(None, self.service.anonymous, event, utcnow())
            self.service.schedule_flush()

"""The soak's clients: TAK clients over TLS that count every event across reconnects.

A reconnecting client misses what was sent while it was away, and its catch-up
brings old items back, so loss is judged per connection: a connection starts
counting a settle time after its handshake completed (what arrives before is
the catch-up and what was in flight), at events sent after that moment, and from
then on every sequence number of every sender must arrive. A number that is
skipped is a hole; one that arrives late fills its hole (reordering is not loss);
one that arrives twice is a duplicate. Holes left when the soak ends are lost.
"""

from __future__ import annotations

import asyncio
import socket
import time
from array import array
from collections.abc import Callable

from bench.events import BENCH_RE, EVENT_END

SETTLE_US = 2_000_000  # catch-up and the protocol offer are over by then


class Totals:
    """Counts of every connection the soak ever had, and this interval's latencies."""

    def __init__(self) -> None:
        self.receiver_deliveries = 0
        self.sender_deliveries = 0
        self.expected = 0  # sequence numbers a connection should have had
        self.holes = 0  # skipped and never filled (connections already closed)
        self.duplicates = 0
        self.sent = 0
        self.latency_us: array[int] = array("q")
        self.lost_early = 0  # connections the server closed on us


class SoakClient(asyncio.BufferedProtocol):
    def __init__(self, totals: Totals, sender: int | None) -> None:
        self.totals = totals
        self.sender = sender
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray(1 << 18)
        self.fill = 0
        # Until the handshake completes (connection_made), nothing is judged.
        self.count_from_us = 1 << 62
        self.first: dict[int, int] = {}
        self.last: dict[int, int] = {}
        self.holes: dict[int, set[int]] = {}
        self.closing = False
        self.closed = asyncio.get_running_loop().create_future()
        self.on_lost: Callable[[SoakClient], None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        # Counted from when the server can have attached us, not from the connect call:
        # on a busy machine the handshake alone can take longer than the settle time.
        self.count_from_us = time.monotonic_ns() // 1000 + SETTLE_US
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def get_buffer(self, sizehint: int) -> memoryview:
        if len(self.buf) - self.fill < 4096:
            grown = bytearray(len(self.buf) * 2)
            grown[: self.fill] = self.buf[: self.fill]
            self.buf = grown
        return memoryview(self.buf)[self.fill :]

    def buffer_updated(self, nbytes: int) -> None:
        buf = self.buf
        fill = self.fill + nbytes
        end = buf.rfind(EVENT_END, 0, fill)
        if end < 0:
            self.fill = fill
            return
        end += len(EVENT_END)
        self._account(buf, end)
        rest = fill - end
        if rest:
            buf[0:rest] = buf[end:fill]
        self.fill = rest

    def _account(self, buf: bytearray, end: int) -> None:
        totals = self.totals
        now_us = time.monotonic_ns() // 1000
        count = 0
        for match in BENCH_RE.finditer(buf, 0, end):
            count += 1
            sent_us = int(match[3])
            if sent_us < self.count_from_us or now_us < self.count_from_us:
                continue  # catch-up or in flight while connecting: not judged
            sender, seq = int(match[1]), int(match[2])
            totals.latency_us.append(now_us - sent_us)
            last = self.last.get(sender)
            if last is None:
                self.first[sender] = self.last[sender] = seq
            elif seq > last:
                if seq > last + 1:
                    self.holes.setdefault(sender, set()).update(range(last + 1, seq))
                self.last[sender] = seq
            else:
                holes = self.holes.get(sender)
                if holes is not None and seq in holes:
                    holes.discard(seq)  # late, not lost
                else:
                    totals.duplicates += 1
        if self.sender is None:
            totals.receiver_deliveries += count
        else:
            totals.sender_deliveries += count

    def settle_accounts(self) -> None:
        """Add this connection's expected count and open holes to the totals (once)."""
        totals = self.totals
        for sender, last in self.last.items():
            totals.expected += last - self.first[sender] + 1
        totals.holes += sum(len(h) for h in self.holes.values())
        self.first.clear()
        self.last.clear()
        self.holes.clear()

    def eof_received(self) -> bool:
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closing:
            self.totals.lost_early += 1
        self.transport = None
        if not self.closed.done():
            self.closed.set_result(None)
        if self.on_lost is not None:
            self.on_lost(self)

    def write(self, data: bytes) -> bool:
        if self.transport is None or self.transport.is_closing():
            return False
        self.transport.write(data)
        return True

    async def close(self, wait: float = 5.0) -> None:
        self.closing = True
        if self.transport is not None:
            self.transport.close()
        try:
            await asyncio.wait_for(asyncio.shield(self.closed), wait)
        except TimeoutError:
            if self.transport is not None:
                self.transport.abort()

"""The track simulator: one TAK client per nation, sending CoT through the ingest path.

Each feed connects to the server's mutual-TLS CoT listener with its nation's
client certificate, exactly as ATAK or a gateway would, so the server
attributes every track to the right originating nation, checks the sender may
send its marking, stores it, and relays it to the web COP and to every TAK
client allowed to see it. Feeds read what the server sends them and discard
it, as a client must, or the server would treat them as slow consumers.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from allied_c2.demo.motion import Track
from allied_c2.demo.sa import report_at
from allied_c2.pki.bundle import ClientBundle
from allied_c2.pki.tls import client_ssl_context

log = logging.getLogger("allied_c2.demo.simulator")

RECONNECT_DELAY = 2.0
CLOSE_TIMEOUT = 3.0


@dataclass(slots=True)
class SimClock:
    """Simulated seconds since the demo started: wall-clock seconds times ``speed``."""

    speed: float
    monotonic: Callable[[], float]
    started: float = field(init=False)

    def __post_init__(self) -> None:
        if self.speed <= 0:
            raise ValueError(f"speed must be positive, got {self.speed}")
        self.started = self.monotonic()

    def sim_seconds(self) -> float:
        return (self.monotonic() - self.started) * self.speed


def connect_host(host: str) -> str:
    """Where a local client reaches a listener bound to ``host`` (wildcards mean loopback)."""
    return {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)


def tls_context(bundle: ClientBundle) -> ssl.SSLContext:
    return client_ssl_context(bundle.ca, bundle.cert, bundle.key)


@dataclass(slots=True)
class Feed:
    """One nation's tracks over one TLS connection."""

    nation: str
    tracks: Sequence[Track]
    bundle: ClientBundle
    host: str
    port: int
    clock: SimClock
    sent: int = 0
    connections: int = 0

    async def run(self, stop: asyncio.Event) -> None:
        """Send reports until ``stop`` is set, reconnecting if the server drops us."""
        context = tls_context(self.bundle)
        while not stop.is_set():
            try:
                reader, writer = await asyncio.open_connection(
                    self.host, self.port, ssl=context, server_hostname=self.host
                )
            except (OSError, ssl.SSLError) as exc:
                log.warning("feed %s: cannot connect to %s:%d: %s", self.nation, *self._at(), exc)
                await _sleep_unless(stop, RECONNECT_DELAY)
                continue
            self.connections += 1
            log.info("feed %s connected to %s:%d over TLS", self.nation, *self._at())
            try:
                await self._session(reader, writer, stop)
            except (OSError, ssl.SSLError, asyncio.IncompleteReadError) as exc:
                log.warning("feed %s: connection lost: %s", self.nation, exc)
            finally:
                writer.close()
                with contextlib.suppress(OSError, ssl.SSLError, TimeoutError):
                    await asyncio.wait_for(writer.wait_closed(), CLOSE_TIMEOUT)
            if not stop.is_set():
                await _sleep_unless(stop, RECONNECT_DELAY)

    def _at(self) -> tuple[str, int]:
        return self.host, self.port

    async def _session(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, stop: asyncio.Event
    ) -> None:
        drain = asyncio.create_task(_discard(reader))
        loop = asyncio.get_running_loop()
        # Every track reports at once on (re)connect, then on its own interval.
        due = [(loop.time(), index) for index in range(len(self.tracks))]
        heapq.heapify(due)
        try:
            while not stop.is_set() and not drain.done():
                wait = due[0][0] - loop.time()
                if wait > 0:
                    await _sleep_unless(stop, wait, also=drain)
                    continue
                batch: list[bytes] = []
                now = datetime.now(UTC)
                sim = self.clock.sim_seconds()
                while due and due[0][0] <= loop.time():
                    at, index = heapq.heappop(due)
                    track = self.tracks[index]
                    batch.append(report_at(track, sim, now).xml_wire)
                    heapq.heappush(due, (at + track.update_interval_s, index))
                writer.write(b"".join(batch))
                await writer.drain()
                self.sent += len(batch)
            if drain.done() and not stop.is_set():
                log.warning("feed %s: the server closed the connection", self.nation)
        finally:
            drain.cancel()
            with contextlib.suppress(asyncio.CancelledError, OSError, ssl.SSLError):
                await drain


async def _discard(reader: asyncio.StreamReader) -> None:
    while await reader.read(65536):
        pass


async def _sleep_unless(
    stop: asyncio.Event, seconds: float, also: asyncio.Future[None] | None = None
) -> None:
    """Sleep ``seconds`` or until ``stop`` is set (or ``also`` finishes)."""
    waiter = asyncio.ensure_future(stop.wait())
    waiting: set[asyncio.Future[Any]] = {waiter}
    if also is not None:
        waiting.add(also)
    try:
        await asyncio.wait(waiting, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await waiter


def build_feeds(
    tracks: Sequence[Track],
    bundles: dict[str, ClientBundle],
    host: str,
    port: int,
    clock: SimClock,
) -> list[Feed]:
    """One feed per nation that has tracks; ``bundles`` maps nation to its certificate."""
    feeds = []
    for nation in sorted({t.nation for t in tracks}):
        own = [t for t in tracks if t.nation == nation]
        feeds.append(Feed(nation, own, bundles[nation], connect_host(host), port, clock))
    return feeds


async def run_feeds(feeds: Sequence[Feed], stop: asyncio.Event) -> None:
    await asyncio.gather(*(feed.run(stop) for feed in feeds))

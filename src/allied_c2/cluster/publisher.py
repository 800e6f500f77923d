"""The cluster bus's publishing half: every accepted event to JetStream once, acknowledged.

Events are published in order from one task with ``publish_async`` (many in flight,
their acks coming back as they are stored). An event not acknowledged within
``publish_timeout`` is sent again under the same ``Nats-Msg-Id``, which JetStream
stores once; after ``MAX_ATTEMPTS`` (or that long without a NATS connection) it is
handed to ``fallback``, the node's own history writer, so history still has it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from allied_c2.server.peers import Accepted, HistorySink
from allied_c2.server.stats import LatencyHistogram

log = logging.getLogger("allied_c2.cluster")

MAX_ATTEMPTS = 5


@dataclass(slots=True)
class Outgoing:
    msg_id: str
    subject: str
    data: bytes
    accepted: Accepted
    first_sent: float = 0.0
    sent: float = 0.0
    attempts: int = 0
    future: asyncio.Future[Any] | None = None


@dataclass
class BusStats:
    published: int = 0  # events handed to JetStream
    acked: int = 0  # events JetStream stored (publish ack)
    retried: int = 0
    stored_locally: int = 0  # never acknowledged: written to history by this node alone
    received: int = 0  # stream messages read
    injected: int = 0  # other nodes' events handed to the hub
    refused: int = 0  # unusable messages (bad head or XML)
    replayed: int = 0  # stream messages read by a replay (at start, after a reconnect)
    copies: int = 0  # events dropped as applied already (a replay's overlap, a resend)
    repairs: int = 0  # replays after a NATS reconnect
    ack_latency: LatencyHistogram = field(default_factory=LatencyHistogram)
    delivery_latency: LatencyHistogram = field(default_factory=LatencyHistogram)


class Publisher:
    def __init__(
        self,
        jetstream: Callable[[], Any],
        connected: Callable[[], bool],
        stats: BusStats,
        fallback: HistorySink | None,
        timeout: float,
    ) -> None:
        self._js = jetstream
        self._connected = connected
        self.stats = stats
        self._fallback = fallback
        self._timeout = timeout
        self._queue: deque[Outgoing] = deque()
        self._inflight: dict[str, Outgoing] = {}
        self._wake = asyncio.Event()
        self.closing = False

    @property
    def unacked(self) -> int:
        return len(self._queue) + len(self._inflight)

    def submit(self, out: Outgoing) -> None:
        if self.closing:
            self.store_locally(out)
            return
        self._queue.append(out)
        self._wake.set()

    def tasks(self) -> list[asyncio.Task[None]]:
        return [
            asyncio.create_task(self._publisher(), name="cluster-publish"),
            asyncio.create_task(self._watchdog(), name="cluster-publish-watchdog"),
        ]

    def close(self) -> None:
        """Stop taking events; what is left goes to the node's own history."""
        self.closing = True
        for out in [*self._queue, *self._inflight.values()]:
            self.store_locally(out)
        self._queue.clear()
        self._inflight.clear()

    async def _publisher(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                await self._send(self._queue.popleft())

    async def _send(self, out: Outgoing) -> None:
        now = time.monotonic()
        if not out.attempts:
            out.first_sent = now
            self.stats.published += 1
        else:
            self.stats.retried += 1
        out.sent = now
        out.attempts += 1
        self._inflight[out.msg_id] = out
        try:
            future = await self._js().publish_async(
                out.subject,
                out.data,
                # No stall timeout: with one, nats-py wraps every publish in
                # asyncio.wait_for, a task of its own, so each publish waited for the
                # next turn of the event loop and a node published one event per turn
                # (the stream lagged 5-25 ms behind at medium load). Without it a free
                # slot is taken at once, and a queue of events goes out in one write.
                # When all slots are taken (NATS away), the watchdog's cancellations
                # free them.
                wait_stall=None,
                headers={"Nats-Msg-Id": out.msg_id},
            )
        except Exception as exc:  # not connected, too many in flight: the watchdog retries
            log.debug("publish of %s failed: %s", out.msg_id, exc)
            return
        out.future = future
        future.add_done_callback(lambda f, o=out: self._acked(o, f))

    def _acked(self, out: Outgoing, future: asyncio.Future[Any]) -> None:
        if future.cancelled() or future.exception() is not None:
            return  # the watchdog sends it again
        if self._inflight.get(out.msg_id) is out:
            del self._inflight[out.msg_id]
            self.stats.acked += 1
            self.stats.ack_latency.observe(time.monotonic() - out.first_sent)

    async def _watchdog(self) -> None:
        timeout = self._timeout
        while True:
            await asyncio.sleep(min(0.25, timeout / 2))
            now = time.monotonic()
            for out in [o for o in self._inflight.values() if now - o.sent > timeout]:
                if out.future is not None and not out.future.done():
                    out.future.cancel()  # frees its slot among the pending publishes
                given_up = now - out.first_sent > timeout * MAX_ATTEMPTS
                if out.attempts >= MAX_ATTEMPTS or given_up:
                    del self._inflight[out.msg_id]
                    self.store_locally(out)
                elif self._connected():
                    del self._inflight[out.msg_id]
                    self._queue.append(out)
            if self._queue:
                self._wake.set()

    def store_locally(self, out: Outgoing) -> None:
        """History must have what this node accepted even if the stream never did."""
        self.stats.stored_locally += 1
        if self._fallback is not None:
            a = out.accepted
            try:
                self._fallback(a.event, a.marking, a.sender, a.at)
            except Exception:
                log.exception("storing %s locally failed", a.event.uid)

"""TLS admission: handshakes paced so that a reconnect storm cannot stall the relay.

A full TLS handshake costs the server about 1.2–2 ms of CPU (the RSA-2048
signature, ECDHE, verifying the client's certificate, the session ticket) on
the same event loop that relays every client's events. When 500 phones come
back at once after a network blip, their handshakes used to run back to back
and the relay stalled for about a second (docs/reliability.md, "TLS
listener"). So the TLS listener accepts sockets itself and hands one to the
event loop's TLS (``loop.connect_accepted_socket``) only when
:class:`HandshakePacer` allows: at most ``per_second`` handshakes a second, in
bursts of at most ``burst``, and at most ``burst`` in progress. That bounds
the share of the loop handshakes can take; the relay's work runs between them.

Accepted sockets wait newest first (a stack, not a queue). Under overload the
oldest are the likeliest to be a flood that never speaks or a client that has
given up; the newest is the one still waiting for an answer (the LIFO half of
"adaptive LIFO", Maurer, *Fail at Scale*, ACM Queue 13(8), 2015; with the pacer
ahead of the arrivals nothing waits and the order does not matter). Nobody waits
unbounded: the handshake timeout counts from the accept, waiting or not, and at most
``MAX_WAITING`` sockets wait (the oldest is closed first); beyond that the
kernel's listen backlog holds new connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from allied_c2.server.service import CotService

log = logging.getLogger("allied_c2.connection")  # rate-limited with the other refusals

MAX_WAITING = 1024
ACCEPTS_PER_WAKEUP = 256  # one readable listener must not hold the loop for long
# A handshake holds one of the `burst` slots until it ends or for this long. The
# slots bound bursts of handshake CPU, which only peers answering within
# milliseconds can cause; a peer on a phone network (round trips of 100 ms and
# more) spreads its own steps out, and one that never speaks costs nothing, so
# neither should keep a slot for longer.
SLOT_LEASE = 0.1


class HandshakePacer:
    """A token bucket (sans I/O): how many handshakes may start now, and when the next may.

    Time is whatever monotonic clock the caller passes, in seconds.
    """

    def __init__(self, per_second: float, burst: int) -> None:
        if per_second <= 0 or burst < 1:
            raise ValueError("a pacer needs a positive rate and a burst of at least 1")
        self.per_second = per_second
        self.burst = burst
        self._tokens = float(burst)
        self._updated: float | None = None

    def take(self, now: float, wanted: int) -> int:
        """Take up to ``wanted`` starts; returns how many were granted."""
        self._refill(now)
        # (The epsilon: a timer set for next_at() must find the token whole, not 0.999…)
        granted = min(wanted, int(self._tokens + 1e-9))
        self._tokens -= granted
        return granted

    def next_at(self, now: float) -> float:
        """When the next start will be allowed."""
        self._refill(now)
        return now + max(0.0, 1.0 - self._tokens) / self.per_second

    def _refill(self, now: float) -> None:
        if self._updated is not None:
            elapsed = max(0.0, now - self._updated)
            self._tokens = min(float(self.burst), self._tokens + elapsed * self.per_second)
        self._updated = now


@dataclass(slots=True)
class _Waiting:
    sock: socket.socket
    peer: str
    deadline: float


class TlsListener:
    """The TLS listener's sockets: accept, wait for a turn, then the loop's TLS."""

    def __init__(
        self,
        service: CotService,
        context: ssl.SSLContext,
        make_connection: Callable[[], asyncio.Protocol],
    ) -> None:
        cfg = service.config
        self.service = service
        self.context = context
        self.make_connection = make_connection
        self.timeout = cfg.tls_handshake_timeout
        self.pacer = HandshakePacer(cfg.tls_handshakes_per_second, cfg.tls_handshake_burst)
        self.sockets: list[socket.socket] = []
        self.waiting: deque[_Waiting] = deque()
        self.in_progress = 0
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    # -- lifecycle -----------------------------------------------------------------------

    def listen(self, host: str, port: int, *, backlog: int, reuse_port: bool) -> str:
        """Bind and listen on every address ``host`` names; returns ``host:port`` bound."""
        infos = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
        seen: set[tuple[int, object]] = set()
        loop = asyncio.get_running_loop()
        for family, kind, proto, _, address in infos:
            if (family, address) in seen:
                continue
            seen.add((family, address))
            sock = socket.socket(family, kind, proto)
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if reuse_port:  # --workers: the kernel spreads accepts over the processes
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
                if family == socket.AF_INET6:  # as asyncio does: one socket per family
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                sock.bind(address)
                sock.listen(backlog)
                sock.setblocking(False)
            except OSError:
                sock.close()
                self.close()
                raise
            self.sockets.append(sock)
            loop.add_reader(sock.fileno(), self._accept, sock)
            if port == 0:  # every family on the port the first one got
                port = sock.getsockname()[1]
        bound_host, bound_port = self.sockets[0].getsockname()[:2]
        return f"{bound_host}:{bound_port}"

    def close(self) -> None:
        loop = asyncio.get_running_loop()
        for sock in self.sockets:
            loop.remove_reader(sock.fileno())
            sock.close()
        self.sockets.clear()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        while self.waiting:
            self.waiting.pop().sock.close()
        for task in self._tasks:
            task.cancel()

    # -- accepting and admitting ---------------------------------------------------------

    def _accept(self, listener: socket.socket) -> None:
        now = asyncio.get_running_loop().time()
        for _ in range(ACCEPTS_PER_WAKEUP):
            try:
                sock, address = listener.accept()
            except (BlockingIOError, InterruptedError):
                break
            except OSError as exc:  # EMFILE and the like: the backlog keeps the rest
                log.warning("TLS listener cannot accept: %s", exc)
                break
            sock.setblocking(False)
            peer = f"{address[0]}:{address[1]}" if isinstance(address, tuple) else str(address)
            if len(self.waiting) >= MAX_WAITING:
                oldest = self.waiting.popleft()
                self._refuse(oldest, "tls_admission_full", f"{MAX_WAITING} waiting")
            self.waiting.append(_Waiting(sock, peer, now + self.timeout))
        self._admit()

    def _admit(self) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        waiting = self.waiting
        while waiting and waiting[0].deadline <= now:  # the oldest are at the left
            self._refuse(waiting.popleft(), "tls_handshake_timeout", "waited for its turn")
        free = self.pacer.burst - self.in_progress
        for _ in range(self.pacer.take(now, min(len(waiting), max(0, free)))):
            entry = waiting.pop()  # newest first
            self.in_progress += 1  # released by _shake_hands
            task = loop.create_task(self._shake_hands(entry, entry.deadline - now))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        if waiting and self._timer is None and self.in_progress < self.pacer.burst:
            self._timer = loop.call_at(self.pacer.next_at(now), self._tick)

    def _tick(self) -> None:
        self._timer = None
        self._admit()

    async def _shake_hands(self, entry: _Waiting, remaining: float) -> None:
        # The slot is this handshake's until it ends, or for SLOT_LEASE at most: a
        # peer that stalls mid-handshake keeps its own socket until the timeout, not
        # the slot.
        loop = asyncio.get_running_loop()
        held = True

        def release() -> None:
            nonlocal held
            if held:
                held = False
                self.in_progress -= 1
                if self.waiting:
                    self._admit()

        lease = loop.call_later(SLOT_LEASE, release)
        try:
            await asyncio.get_running_loop().connect_accepted_socket(
                self.make_connection,
                entry.sock,
                ssl=self.context,
                ssl_handshake_timeout=remaining,
            )
        except asyncio.CancelledError:
            entry.sock.close()
            raise
        except Exception as exc:  # whatever the peer did, it costs only its own socket
            # The loop's timeout is a ConnectionAbortedError: tell it apart by the clock.
            timed_out = asyncio.get_running_loop().time() >= entry.deadline - 0.01
            reason = "tls_handshake_timeout" if timed_out else "tls_handshake_failed"
            self._refuse(entry, reason, str(exc) or type(exc).__name__)
        finally:
            lease.cancel()
            release()

    def _refuse(self, entry: _Waiting, reason: str, detail: str) -> None:
        with contextlib.suppress(OSError):
            entry.sock.close()
        self.service.hub.stats.refuse(reason)
        log.warning("refused TLS connection from %s: %s: %s", entry.peer, reason, detail)

"""The CoT service: listeners, connections, write batching and housekeeping.

Writes are batched per event-loop turn: the relay queues bytes on each
recipient and marks it dirty; one callback per turn writes each dirty client's
bytes in a single ``transport.write``. Under load that turns thousands of small
writes into a few large ones without adding a timer's delay.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from collections.abc import Callable
from datetime import datetime

from allied_c2.config import Config, Endpoint
from allied_c2.security.principals import Principal
from allied_c2.server.connection import DatagramReceiver, StreamConnection, utcnow
from allied_c2.server.directory import Directory
from allied_c2.server.hub import Hub
from allied_c2.server.tls_admission import TlsListener

log = logging.getLogger("allied_c2.service")


class CotService:
    def __init__(
        self,
        config: Config,
        hub: Hub,
        directory: Directory,
        *,
        tls_context: ssl.SSLContext | None = None,
        history_backlog: Callable[[], int] | None = None,
    ) -> None:
        self.config = config
        self.hub = hub
        self.directory = directory
        self.anonymous: Principal = directory.anonymous
        self.tls_context = tls_context
        self._history_backlog = history_backlog
        self.connections: set[StreamConnection] = set()
        self.paused: set[StreamConnection] = set()  # clients whose transport stopped taking writes
        self._dirty: list[StreamConnection] = []
        self._flush_scheduled = False
        self._ingest_started: float | None = None
        self._servers: list[asyncio.Server] = []
        self._udp: asyncio.DatagramTransport | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.ingest_paused = False
        self.bound: dict[str, str] = {}
        self.tls_listener: TlsListener | None = None
        hub.wake = self._wake

    def _wake(self) -> None:
        with contextlib.suppress(RuntimeError):  # no running loop: nothing to write to
            self.schedule_flush()

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> dict[str, str]:
        loop = asyncio.get_running_loop()
        cfg = self.config
        if cfg.cot_tcp is not None:
            server = await loop.create_server(
                lambda: StreamConnection(self, tls=False),
                cfg.cot_tcp.host,
                cfg.cot_tcp.port,
                backlog=1024,
                reuse_address=True,
                reuse_port=cfg.reuse_port or None,  # --workers: the kernel spreads accepts
            )
            self._servers.append(server)
            self.bound["cot_tcp"] = _bound(server, cfg.cot_tcp)
        if cfg.cot_tls is not None:
            if self.tls_context is None:
                raise RuntimeError(
                    "a TLS listener needs the server certificate: run `allied-c2 ca init`"
                )
            # Sockets accepted by the listener; TLS starts when its pacer allows, and a
            # handshake not done within tls_handshake_timeout of the accept is aborted
            # (its fd freed): neither a flood of half-open handshakes nor a storm of
            # full ones can pile up or stall the relay (server/tls_admission.py).
            self.tls_listener = TlsListener(
                self, self.tls_context, lambda: StreamConnection(self, tls=True)
            )
            self.bound["cot_tls"] = self.tls_listener.listen(
                cfg.cot_tls.host, cfg.cot_tls.port, backlog=1024, reuse_port=cfg.reuse_port
            )
        if cfg.cot_udp is not None:
            transport, _ = await loop.create_datagram_endpoint(
                lambda: DatagramReceiver(self),
                local_addr=(cfg.cot_udp.host, cfg.cot_udp.port),
                reuse_port=cfg.reuse_port or None,
            )
            self._udp = transport
            host, port = transport.get_extra_info("sockname")[:2]
            self.bound["cot_udp"] = f"{host}:{port}"
        self._tasks.append(asyncio.create_task(self._housekeeping(), name="cot-housekeeping"))
        self._tasks.append(
            asyncio.create_task(
                self.directory.watch(cfg.directory_poll_interval, self._identities_changed),
                name="directory-watch",
            )
        )
        return dict(self.bound)

    async def stop(self) -> None:
        for server in self._servers:
            server.close()
        if self.tls_listener is not None:
            self.tls_listener.close()
        if self._udp is not None:
            self._udp.close()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.flush_now()
        for conn in list(self.connections):
            conn.close("server_stopping", "the server is shutting down")
        for server in self._servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), timeout=2.0)
        self._servers.clear()

    # -- connections ---------------------------------------------------------------------

    def identify_tls(self, conn: StreamConnection) -> Principal | None:
        """Map the peer certificate to a principal; close the connection if there is none."""
        assert conn.transport is not None
        ssl_object = conn.transport.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
        if not der:
            conn.close("no_certificate", "the TLS listener requires a client certificate")
            return None
        conn.fingerprint = self.directory.fingerprint(der)
        principal = self.directory.by_fingerprint(conn.fingerprint)
        if principal is None:
            conn.close("unknown_certificate", "certificate unknown or revoked")
            return None
        return principal

    def attach(self, conn: StreamConnection, now: datetime) -> None:
        self.connections.add(conn)
        self.hub.attach(conn, now)
        if self.ingest_paused and conn.transport is not None:
            conn.transport.pause_reading()
        self.schedule_flush()

    def detach(self, conn: StreamConnection, now: datetime) -> None:
        self.connections.discard(conn)
        self.hub.detach(conn, now)
        self.schedule_flush()

    def _identities_changed(self) -> None:
        """Apply user changes and revocations to live sessions: TLS streams and web views."""
        regrouped = self.hub.set_channels(self.directory.channels, utcnow())  # t-x-g-c to them
        for listener in self.hub.listeners():
            listener.identity_changed()
        for conn in list(self.connections):
            if conn.fingerprint is None:
                continue
            principal = self.directory.by_fingerprint(conn.fingerprint)
            if principal is None:
                conn.close("revoked", "the certificate or its principal was revoked")
            elif principal != conn.principal:
                log.info("identity of %s changed: %s", conn.callsign, principal)
                self.hub.change_principal(conn, principal)
                conn.refilter(self.hub.picture_uids(utcnow()))
            elif principal.callsign in regrouped:
                conn.refilter(self.hub.picture_uids(utcnow()))  # what its new groups show

    # -- write batching ------------------------------------------------------------------

    def note_ingest_start(self) -> None:
        if self._ingest_started is None:
            self._ingest_started = time.perf_counter()

    def mark_dirty(self, conn: StreamConnection) -> None:
        self._dirty.append(conn)

    def schedule_flush(self) -> None:
        if not self._flush_scheduled and (
            self._dirty or self._ingest_started is not None or len(self.hub.fanout)
        ):
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self.flush_now)

    def flush_now(self) -> None:
        """Write the broadcasts and queues waiting so far (normally once per loop turn)."""
        self._flush_scheduled = False
        try:
            self.hub.flush()
        except Exception:  # never let one bad turn stop the writing
            log.exception("broadcast fan-out failed")
        dirty, self._dirty = self._dirty, []
        for conn in dirty:
            try:
                conn.flush()
            except Exception as exc:  # one client's failure must not stall the others
                log.exception("flushing %s failed", conn.peer_name)
                conn.close("internal_error", repr(exc))
        if self._ingest_started is not None:
            self.hub.stats.latency.observe(time.perf_counter() - self._ingest_started)
            self._ingest_started = None

    # -- housekeeping --------------------------------------------------------------------

    async def _housekeeping(self) -> None:
        cfg = self.config
        last_sweep = 0.0
        while True:
            await asyncio.sleep(0.25)
            now = time.monotonic()
            if now - last_sweep >= cfg.picture_sweep_interval:
                last_sweep = now
                self.hub.sweep(utcnow())
            for conn in list(self.paused):
                if (
                    conn.paused_since is not None
                    and now - conn.paused_since > cfg.slow_client_grace
                ):
                    self.hub.stats.slow_disconnects += 1
                    conn.close("slow_consumer", f"not reading for {cfg.slow_client_grace:.0f} s")
            self._apply_backpressure()

    def _apply_backpressure(self) -> None:
        """Stop reading from clients while history writes are far behind; nothing is dropped."""
        if self._history_backlog is None:
            return
        backlog = self._history_backlog()
        limit = self.config.store_backlog_pause
        if not self.ingest_paused and backlog > limit:
            self.ingest_paused = True
            log.warning("history backlog %d > %d: pausing ingest", backlog, limit)
            for conn in self.connections:
                if conn.transport is not None:
                    conn.transport.pause_reading()
        elif self.ingest_paused and backlog < limit // 2:
            self.ingest_paused = False
            log.info("history backlog %d: resuming ingest", backlog)
            for conn in self.connections:
                conn.resume_after_backpressure()


def _bound(server: asyncio.Server, asked: Endpoint) -> str:
    sockets = server.sockets
    if not sockets:
        return str(asked)
    host, port = sockets[0].getsockname()[:2]
    return f"{host}:{port}"

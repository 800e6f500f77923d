"""Run the HTTP API inside the server's own event loop (uvicorn as a library).

One process, one loop: the web API reads the relay's picture directly, with
no broker in between. Signals stay with the CLI (``allied-c2 serve`` owns
Ctrl+C), so uvicorn's own signal capture is switched off.

The HTTPS listener takes its TLS context from :func:`allied_c2.pki.tls.server_ssl_context`,
the same rules as the CoT TLS listener (client certificates optional there,
since a token may identify the caller instead). The fingerprint of a verified
client certificate goes into each HTTP request's and each WebSocket's state,
where web/auth.py finds it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from allied_c2.pki.tls import peer_fingerprint, server_ssl_context
from allied_c2.web.auth import TLS_FINGERPRINT

if TYPE_CHECKING:
    from allied_c2.app import Runtime

log = logging.getLogger("allied_c2.web")

# The stream's only client message is the sign-in ({"token": ...}); uvicorn's
# default would let a client make the server buffer 16 MiB frames.
WS_MAX_MESSAGE = 64 * 1024


class _EmbeddedServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


class MutualTlsHttpProtocol(HttpToolsProtocol):
    """Puts the client certificate's fingerprint into each request's state."""

    _fingerprint: str | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._fingerprint = peer_fingerprint(transport.get_extra_info("ssl_object"))

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.scope["state"][TLS_FINGERPRINT] = self._fingerprint


class MutualTlsWebSocketProtocol(WebSocketsSansIOProtocol):
    """The same for a WebSocket: the upgraded connection builds its own scope, whose
    state is copied from ``app_state``, so this connection gets its own copy with
    the fingerprint in it (a WebSocket over HTTPS with a certificate is that
    certificate's principal, not anonymous)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        fingerprint = peer_fingerprint(transport.get_extra_info("ssl_object"))
        self.app_state = {**self.app_state, TLS_FINGERPRINT: fingerprint}


@dataclass
class HttpServers:
    servers: list[_EmbeddedServer] = field(default_factory=list)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    addresses: dict[str, str] = field(default_factory=dict)

    async def stop(self) -> None:
        for server in self.servers:
            server.should_exit = True
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, timeout=5.0)


def _shared_socket(host: str, port: int) -> socket.socket:
    """A listening socket other processes may bind too (SO_REUSEPORT, `serve --workers`)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)  # uvicorn's default backlog
    sock.setblocking(False)
    return sock


async def _start_one(
    config: uvicorn.Config, reuse_port: bool = False
) -> tuple[_EmbeddedServer, asyncio.Task[None], str]:
    server = _EmbeddedServer(config)
    sockets = [_shared_socket(config.host, config.port)] if reuse_port else None
    task = asyncio.create_task(server.serve(sockets=sockets), name=f"http-{config.port}")
    while not server.started:
        if task.done():
            task.result()  # re-raise the startup failure
            raise RuntimeError("HTTP server stopped during startup")
        await asyncio.sleep(0.01)
    sockets = [s for srv in server.servers for s in (srv.sockets or [])]
    host, port = sockets[0].getsockname()[:2] if sockets else (config.host, config.port)
    return server, task, f"{host}:{port}"


async def start_http(runtime: Runtime) -> HttpServers:
    """The HTTP, HTTPS and metrics listeners that are configured (each may be off)."""
    cfg = runtime.config
    out = HttpServers()
    common: dict[str, Any] = {
        "log_level": "warning",
        "lifespan": "off",
        "access_log": False,
        "ws": "websockets-sansio",
        "ws_max_size": WS_MAX_MESSAGE,
        "loop": "none",
        "server_header": False,
    }
    if cfg.metrics is not None:
        from allied_c2.web.metrics import metrics_app

        metrics = dict(common, ws="none")
        config = uvicorn.Config(
            metrics_app(runtime), host=cfg.metrics.host, port=cfg.metrics.port, **metrics
        )
        await _add(out, "metrics", config)
    if cfg.enroll is not None and runtime.enrollment is not None:
        await _start_enroll(out, runtime, common)  # issue 12: certificate enrollment
    if cfg.http is None and cfg.https is None:
        return out
    from allied_c2.web.api import create_api  # FastAPI loads only when it serves

    app = create_api(runtime)
    if cfg.http is not None:
        if not cfg.http.is_loopback:
            log.warning(
                "plain HTTP on %s: bearer tokens sent to it can be read on the network; "
                "serve the API with --https (and --http off, or on loopback)",
                cfg.http,
            )
        config = uvicorn.Config(
            app, host=cfg.http.host, port=cfg.http.port, http="httptools", **common
        )
        await _add(out, "http", config, cfg.reuse_port)
    if cfg.https is not None:
        context = server_ssl_context(cfg.data_dir, require_client_cert=False)

        def tls(_config: uvicorn.Config, _default: Any) -> ssl.SSLContext:
            return context  # the project's rules, not uvicorn's defaults

        config = uvicorn.Config(
            app,
            host=cfg.https.host,
            port=cfg.https.port,
            http=MutualTlsHttpProtocol,
            ssl_context_factory=tls,
            **dict(common, ws=MutualTlsWebSocketProtocol),
        )
        await _add(out, "https", config, cfg.reuse_port)
    return out


async def _start_enroll(out: HttpServers, runtime: Runtime, common: dict[str, Any]) -> None:
    """The enrollment HTTPS listener: the server certificate, no client certificate asked."""
    from allied_c2.web.enroll import enroll_app

    cfg = runtime.config
    assert cfg.enroll is not None and runtime.enrollment is not None
    context = server_ssl_context(cfg.data_dir, require_client_cert=False)

    def tls(_config: uvicorn.Config, _default: Any) -> ssl.SSLContext:
        return context

    config = uvicorn.Config(
        enroll_app(runtime, runtime.enrollment),
        host=cfg.enroll.host,
        port=cfg.enroll.port,
        http="httptools",
        ssl_context_factory=tls,
        **dict(common, ws="none"),
    )
    await _add(out, "enroll", config)


async def _add(
    out: HttpServers, name: str, config: uvicorn.Config, reuse_port: bool = False
) -> None:
    server, task, address = await _start_one(config, reuse_port)
    out.servers.append(server)
    out.tasks.append(task)
    out.addresses[name] = address

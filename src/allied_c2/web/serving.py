"""Run the HTTP API inside the server's own event loop (uvicorn as a library).

One process, one loop: the web API reads the relay's picture directly, with
no broker in between. Signals stay with the CLI (``allied-c2 serve`` owns
Ctrl+C), so uvicorn's own signal capture is switched off.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ssl
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from allied_c2.web.api import create_api
from allied_c2.web.auth import TLS_FINGERPRINT

if TYPE_CHECKING:
    from allied_c2.app import Runtime


class _EmbeddedServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


class MutualTlsHttpProtocol(HttpToolsProtocol):
    """Puts the client certificate's fingerprint into each request's state."""

    _fingerprint: str | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        ssl_object = transport.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
        self._fingerprint = hashlib.sha256(der).hexdigest() if der else None

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.scope["state"][TLS_FINGERPRINT] = self._fingerprint


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


async def _start_one(config: uvicorn.Config) -> tuple[_EmbeddedServer, asyncio.Task[None], str]:
    server = _EmbeddedServer(config)
    task = asyncio.create_task(server.serve(), name=f"http-{config.port}")
    while not server.started:
        if task.done():
            task.result()  # re-raise the startup failure
            raise RuntimeError("HTTP server stopped during startup")
        await asyncio.sleep(0.01)
    sockets = [s for srv in server.servers for s in (srv.sockets or [])]
    host, port = sockets[0].getsockname()[:2] if sockets else (config.host, config.port)
    return server, task, f"{host}:{port}"


async def start_http(runtime: Runtime) -> HttpServers:
    cfg = runtime.config
    app = create_api(runtime)
    out = HttpServers()
    common: dict[str, Any] = {
        "log_level": "warning",
        "lifespan": "off",
        "access_log": False,
        "ws": "websockets-sansio",
        "loop": "none",
        "server_header": False,
    }
    if cfg.http is not None:
        config = uvicorn.Config(
            app, host=cfg.http.host, port=cfg.http.port, http="httptools", **common
        )
        server, task, address = await _start_one(config)
        out.servers.append(server)
        out.tasks.append(task)
        out.addresses["http"] = address
    if cfg.https is not None:
        pki = cfg.data_dir / "pki"
        config = uvicorn.Config(
            app,
            host=cfg.https.host,
            port=cfg.https.port,
            http=MutualTlsHttpProtocol,
            ssl_certfile=str(pki / "server.pem"),
            ssl_keyfile=str(pki / "server.key"),
            ssl_ca_certs=str(pki / "ca.pem"),
            ssl_cert_reqs=ssl.CERT_OPTIONAL,
            **common,
        )
        server, task, address = await _start_one(config)
        out.servers.append(server)
        out.tasks.append(task)
        out.addresses["https"] = address
    return out

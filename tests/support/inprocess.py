"""An allied-c2 server in this process: the real Runtime, hub and web API, no sockets.

The relay is driven through the Hub's ``Peer`` protocol with :class:`FakePeer`
connections (what a TCP or TLS client's connection object does, minus the
bytes), the HTTP API through httpx's ASGI transport, and the web COP's
WebSocket through the ASGI interface directly (:class:`WebView`). Everything
runs on one event loop owned by the harness, so tests stay synchronous and
each step is deterministic: ``send`` ingests and flushes the turn's fan-out at
once, as the CoT service does at the end of every event-loop turn.

Building a Runtime the first time runs the database migrations in a
subprocess (about a second); :meth:`InProcessServer.template` builds one data
directory once and :meth:`InProcessServer.copy_of` starts a fresh server from a
copy of it in milliseconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import shutil
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from allied_c2.app import Runtime, build_runtime
from allied_c2.config import Config
from allied_c2.cot.event import CotEvent, WireFormat
from allied_c2.security.principals import Principal
from allied_c2.server.fanout import Broadcast
from allied_c2.web.stream import StreamListener

FAR_FUTURE = datetime(9999, 1, 1, tzinfo=UTC)


class FakePeer:
    """A connected stream client as the Hub sees it; records what it was sent."""

    def __init__(self, principal: Principal, name: str) -> None:
        self.principal = principal
        self.uid: str | None = None
        self.callsign: str | None = None
        self.group_name: str | None = None
        self.peer_name = name
        self.received: list[CotEvent] = []  # live: directed sends and broadcasts
        self.catch_up_uids: list[str] = []
        self.closed: tuple[str, str] | None = None

    @property
    def output_format(self) -> WireFormat:
        return WireFormat.XML

    def send(self, key: str | None, event: CotEvent) -> None:
        self.received.append(event)

    def begin_catch_up(self, uids: list[str]) -> None:
        self.catch_up_uids = list(uids)

    def deliver(self, data: bytes, items: list[Broadcast]) -> None:
        self.received.extend(item.event for item in items)

    def close(self, reason: str, detail: str) -> None:
        self.closed = (reason, detail)

    def __repr__(self) -> str:
        return f"FakePeer({self.peer_name}, {self.principal.callsign})"


@dataclass
class WebMessage:
    kind: str
    body: dict[str, Any]


class WebView:
    """One web COP page on ``/api/v1/stream``, spoken to through the ASGI interface.

    Credentials are offered the ways a client may give them: the Authorization
    header, the ``bearer.<token>`` subprotocol and a first ``{"token": …}``
    message (``{}`` for the anonymous profile); a server that reads one ignores
    the others. Never in the URL.
    """

    def __init__(self, server: InProcessServer, token: str | None) -> None:
        self.server = server
        self.messages: list[dict[str, Any]] = []
        self.accepted = False
        self.closed: dict[str, Any] | None = None
        self._inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._arrived = asyncio.Event()
        headers: list[tuple[bytes, bytes]] = [(b"host", b"allied-c2.test")]
        subprotocols: list[str] = []
        if token is not None:
            headers.append((b"authorization", f"Bearer {token}".encode()))
            subprotocols.append(f"bearer.{token}")
        scope: dict[str, Any] = {
            "type": "websocket",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "scheme": "ws",
            "http_version": "1.1",
            "path": "/api/v1/stream",
            "raw_path": b"/api/v1/stream",
            "root_path": "",
            "query_string": b"",
            "headers": headers,
            "subprotocols": subprotocols,
            "client": ("127.0.0.1", 50000),
            "server": ("allied-c2.test", 80),
            "state": {},
            "extensions": {},
        }
        self._inbox.put_nowait({"type": "websocket.connect"})
        first = {"token": token} if token is not None else {}
        self._inbox.put_nowait({"type": "websocket.receive", "text": json.dumps(first)})
        self.task = server.loop.create_task(server.app(scope, self._receive, self._send))

    async def _receive(self) -> dict[str, Any]:
        return await self._inbox.get()

    async def _send(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "websocket.accept":
            self.accepted = True
        elif kind == "websocket.send":
            text = message.get("text")
            if text is None:
                text = bytes(message.get("bytes") or b"").decode()
            self.messages.append(json.loads(text))
        elif kind == "websocket.close":
            self.closed = message
        self._arrived.set()

    def pump(self, until: Callable[[], bool], timeout: float = 30.0) -> bool:
        """Run the loop until ``until()`` holds, the socket closes or ``timeout`` passes."""

        async def wait() -> None:
            while not until() and self.closed is None and not self.task.done():
                self._arrived.clear()
                await self._arrived.wait()

        with contextlib.suppress(TimeoutError):
            self.server.loop.run_until_complete(asyncio.wait_for(wait(), timeout))
        return until()

    def kinds(self) -> list[str]:
        return [str(m.get("kind")) for m in self.messages]

    def wait_for_snapshot(self) -> dict[str, Any] | None:
        self.pump(lambda: "snapshot" in self.kinds())
        for message in self.messages:
            if message.get("kind") == "snapshot":
                return message
        return None

    def close(self) -> None:
        self._inbox.put_nowait({"type": "websocket.disconnect", "code": 1000})

        async def finish() -> None:
            await asyncio.wait({self.task}, timeout=30.0)

        self.server.loop.run_until_complete(finish())
        if not self.task.done():
            self.task.cancel()


class InProcessServer:
    """A Runtime on ``data_dir`` with every listener off, driven in this process."""

    def __init__(self, data_dir: Path, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.data_dir = data_dir
        self.config = Config(
            data_dir=data_dir,
            cot_tcp=None,
            cot_tls=None,
            cot_udp=None,
            http=None,
            https=None,
            store_flush_interval=0.05,
        )
        self.loop = loop or asyncio.new_event_loop()
        self._own_loop = loop is None
        self.runtime: Runtime = build_runtime(self.config)
        self._app: Any = None
        self._http: httpx.AsyncClient | None = None
        self.tokens: dict[str, str] = {}
        self._db: sqlite3.Connection | None = None  # the harness's own, to clear history
        self._catch_up_by_principal = _takes_principal(self.runtime.hub.catch_up_item)

    # -- set-up ------------------------------------------------------------------

    @classmethod
    def template(cls, data_dir: Path, principals: Iterable[Principal]) -> dict[str, str]:
        """Build a data directory with these principals and a token each; returns the tokens
        by callsign (a principal the store refuses, e.g. an unknown role, gets none)."""
        server = cls(data_dir)
        try:
            for principal in principals:
                server.add_principal(principal)
            return dict(server.tokens)
        finally:
            server.close()
            with sqlite3.connect(data_dir / "allied-c2.db") as db:
                db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    @classmethod
    def copy_of(
        cls,
        template: Path,
        data_dir: Path,
        tokens: dict[str, str],
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> InProcessServer:
        shutil.copytree(template, data_dir, ignore=shutil.ignore_patterns("*-shm", "*-wal"))
        server = cls(data_dir, loop)
        server.tokens = dict(tokens)
        return server

    def add_principal(self, principal: Principal) -> str | None:
        from allied_c2.store.principals import PrincipalError

        try:
            self.runtime.principals.add(principal)
        except PrincipalError:
            return None
        token = self.runtime.principals.create_token(principal.callsign)
        self.tokens[principal.callsign] = token
        return token

    # -- the relay -----------------------------------------------------------------

    @property
    def hub(self) -> Any:
        return self.runtime.hub

    def connect(self, principal: Principal, name: str, now: datetime) -> FakePeer:
        """Attach a client; its catch-up is due at once (see :meth:`catch_up`)."""
        peer = FakePeer(principal, name)
        self.hub.attach(peer, now)
        return peer

    def catch_up(self, peer: FakePeer, uids: Iterable[str], now: datetime) -> list[CotEvent]:
        """What ``Hub.catch_up_item`` hands ``peer`` for each uid (as the connection asks)."""
        out: list[CotEvent] = []
        for uid in uids:
            # The hub's second argument changes from the principal to the peer (so the
            # catch-up can apply the names the connection bound); accept either.
            who = peer.principal if self._catch_up_by_principal else peer
            event = self.hub.catch_up_item(uid, who, now)
            if event is not None:
                out.append(event)
        return out

    def send(self, peer: FakePeer | None, principal: Principal, event: CotEvent) -> None:
        self.hub.ingest(peer, principal, event, datetime.now(UTC))
        self.hub.flush()

    def listen(self, principal: Principal) -> StreamListener:
        listener = StreamListener(principal)
        self.hub.add_listener(listener)
        return listener

    @staticmethod
    def drain(listener: StreamListener) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        while not listener.queue.empty():
            message = listener.queue.get_nowait()
            if isinstance(message, dict):
                out.append(message)
        return out

    def reset(
        self,
        peers: Iterable[FakePeer],
        listeners: Iterable[StreamListener],
        *,
        clear_history: bool = True,
    ) -> None:
        """Forget the peers, listeners and picture of one test case (and the history)."""
        now = datetime.now(UTC)
        for listener in listeners:
            self.hub.remove_listener(listener)
        for peer in peers:
            self.hub.detach(peer, now)
        self.hub.flush()
        self.hub.picture.expire(FAR_FUTURE)
        if not clear_history:
            return
        self.runtime.writer.flush()
        if self._db is None:
            self._db = sqlite3.connect(self.data_dir / "allied-c2.db", isolation_level=None)
            self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("DELETE FROM events")

    # -- the web API -------------------------------------------------------------------

    @property
    def app(self) -> Any:
        if self._app is None:
            from allied_c2.web.api import create_api

            self._app = create_api(self.runtime)
        return self._app

    @property
    def http(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=self.app), base_url="http://allied-c2.test"
            )
        return self._http

    def get(self, path: str, token: str | None = None) -> httpx.Response:
        """GET through the ASGI app; history is committed first (as a reader later sees it)."""
        self.runtime.writer.flush()
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        return self.loop.run_until_complete(self.http.get(path, headers=headers))

    def get_json(self, path: str, token: str | None = None) -> Any:
        return self.get_all_json([(path, token)])[0]

    def get_all_json(self, requests: Iterable[tuple[str, str | None]]) -> list[Any]:
        """Several GETs in one run of the loop (AnyIO's worker threads then live across
        them rather than being started for each); each must answer 200."""
        self.runtime.writer.flush()

        async def fetch() -> list[httpx.Response]:
            out = []
            for path, token in requests:
                headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
                out.append(await self.http.get(path, headers=headers))
            return out

        bodies: list[Any] = []
        for response in self.loop.run_until_complete(fetch()):
            if response.status_code != 200:
                raise AssertionError(
                    f"GET {response.request.url.path}: {response.status_code} {response.text[:300]}"
                )
            bodies.append(response.json())
        return bodies

    def open_view(self, token: str | None) -> WebView:
        return WebView(self, token)

    # -- restart -------------------------------------------------------------------------

    def restart(self) -> InProcessServer:
        """Stop cleanly (history flushed and closed) and start again on the same data dir,
        with the picture restored from history as ``allied-c2 serve`` does."""
        self.stop()
        again = InProcessServer(self.data_dir, self.loop)
        again._own_loop, self._own_loop = self._own_loop, False
        again.tokens = dict(self.tokens)
        again.runtime.restore_picture()
        return again

    def stop(self) -> None:
        if self._http is not None:
            self.loop.run_until_complete(self._http.aclose())
            self._http = None
        if self._db is not None:
            self._db.close()
            self._db = None
        self.runtime.writer.close()
        self.runtime.audit.close()
        engine = getattr(self.runtime.reader, "_engine", None)
        if engine is not None:
            engine.dispose()

    def close(self) -> None:
        self.stop()
        if self._own_loop:
            self.loop.close()


def _takes_principal(method: Callable[..., Any]) -> bool:
    parameters = list(inspect.signature(method).parameters)
    return len(parameters) > 1 and parameters[1] == "principal"

"""The listening side of federation: TAK's ``FederatedChannel`` server (I/O edge).

A peer that dials us opens, on one TLS connection (federation-v2.md §1):
``ServerFederateGroupsStream`` (answered SERVING at once), ``ClientEventStream``
(our events to it: the link is up while it is open), ``ServerEventStream``
(its events to us, answered with one ``Subscription`` at once), the ROL and
groups streams (held open; files, missions and group mapping are not offered),
and ``HealthCheck`` every few seconds (SERVING while our event stream to it is
open, else NOT_CONNECTED). Every call is identified by the SHA-256 fingerprint
of the client certificate: an unknown or removed certificate is refused with
PERMISSION_DENIED and audited. Calls are tied into one session by the peer's
address; a new connection from the same federate replaces the old session (a
restarted peer need not wait for the old one to time out), and a session that
sends no health check for five intervals (TAK: 15 s) is closed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

import grpc
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from allied_c2.config import Endpoint
from allied_c2.federation import channel as ch
from allied_c2.federation.identity import fingerprint_of_der
from allied_c2.federation.link import State
from allied_c2.federation.proto import fig_pb2

if TYPE_CHECKING:
    from allied_c2.federation.service import FederationService, Member

HEALTH_INTERVALS = 5
SERVING = fig_pb2.ServerHealth.SERVING
NOT_CONNECTED = fig_pb2.ServerHealth.NOT_CONNECTED


class Session:
    """The calls of one federate's connection to us."""

    def __init__(self, member: Member, address: str) -> None:
        self.member = member
        self.address = address
        self.closed = asyncio.Event()
        self.stop = asyncio.Event()  # ends our outbound stream
        self.reason = "closed"
        self.events_open = False
        self.last_health = time.monotonic()

    def close(self, reason: str) -> None:
        if not self.closed.is_set():
            self.reason = reason
            self.closed.set()
            self.stop.set()
            self.member.wake.set()


class Listener:
    def __init__(self, service: FederationService) -> None:
        self.service = service

    def handlers(self) -> dict[str, Callable[..., Any]]:
        return {
            ch.SERVER_GROUPS_STREAM: self.server_groups,
            ch.CLIENT_GROUPS_STREAM: self.client_groups,
            ch.CLIENT_EVENT_STREAM: self.client_events,
            ch.SERVER_EVENT_STREAM: self.server_events,
            ch.CLIENT_ROL_STREAM: self.client_rol,
            ch.SERVER_ROL_STREAM: self.server_rol,
            ch.HEALTH_CHECK: self.health,
        }

    async def _session(self, context: Any) -> Session:
        address = str(context.peer())
        certificates = context.auth_context().get("x509_pem_cert") or []
        if not certificates:
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, "a client certificate is required")
        der = x509.load_pem_x509_certificate(certificates[0]).public_bytes(Encoding.DER)
        member = self.service.identify(fingerprint_of_der(der), address)
        if member is None:
            await context.abort(
                grpc.StatusCode.PERMISSION_DENIED, "this certificate is not a registered federate"
            )
        assert member is not None
        if member.record.connect:
            await context.abort(
                grpc.StatusCode.FAILED_PRECONDITION,
                "this server dials that federate itself: give --connect on one side only",
            )
        session: Session | None = member.session
        if session is None or session.closed.is_set() or session.address != address:
            if session is not None:
                session.close("replaced by a new connection from the federate")
            session = Session(member, address)
            member.session = session
        return session

    async def _hold(self, session: Session, context: Any) -> None:
        """Keep a call open until the session ends, then end it with the reason."""
        await session.closed.wait()
        await context.abort(grpc.StatusCode.UNAVAILABLE, f"link closed: {session.reason}")

    async def _drain(
        self, session: Session, requests: AsyncIterator[Any], handle: Callable[[Any], None]
    ) -> None:
        async def consume() -> None:
            async for message in requests:
                handle(message)

        reading = asyncio.ensure_future(consume())
        closing = asyncio.ensure_future(session.closed.wait())
        try:
            await asyncio.wait({reading, closing}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (reading, closing):
                task.cancel()
        if reading.done() and not reading.cancelled() and reading.exception() is not None:
            raise reading.exception()  # type: ignore[misc]

    async def server_groups(self, request: Any, context: Any) -> AsyncIterator[Any]:
        session = await self._session(context)
        yield fig_pb2.FederateGroups(streamUpdate=fig_pb2.ServerHealth(status=SERVING))
        await self._hold(session, context)

    async def client_groups(self, requests: AsyncIterator[Any], context: Any) -> AsyncIterator[Any]:
        session = await self._session(context)
        yield self.service.subscription(server=True)
        await self._drain(session, requests, lambda _: None)  # no group mapping yet

    async def client_events(self, request: Any, context: Any) -> AsyncIterator[Any]:
        session = await self._session(context)
        if not request.identity.name:  # TAK refuses an empty identity.name too
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "identity.name is empty")
        member = session.member
        if member.stop is not None and member.stop is not session.stop:
            member.stop.set()  # an older outbound stream of this federate ends
            if member.link.state is State.UP:  # what it wrote lately is sent again here
                self.service.link_down(member, "replaced by a new connection", dialer=False)
        member.stop = session.stop
        session.events_open = True
        self.service.link_up(member, session.address, dialer=False)
        try:
            async for message in self.service.outbound(member, session.stop):
                yield message
        finally:
            session.events_open = False
            if member.stop is session.stop:  # not when a newer stream took the link over
                self.service.link_down(member, session.reason, dialer=False)
        await context.abort(grpc.StatusCode.UNAVAILABLE, f"link closed: {session.reason}")

    async def server_events(self, requests: AsyncIterator[Any], context: Any) -> AsyncIterator[Any]:
        session = await self._session(context)
        yield self.service.subscription(server=True)
        member = session.member
        await self._drain(session, requests, lambda m: self.service.inbound(member, m))

    async def client_rol(self, request: Any, context: Any) -> AsyncIterator[Any]:
        session = await self._session(context)
        if False:  # files and missions (ROL) are not offered: hold the stream, send nothing
            yield fig_pb2.ROL()
        await self._hold(session, context)

    async def server_rol(self, requests: AsyncIterator[Any], context: Any) -> AsyncIterator[Any]:
        session = await self._session(context)
        yield self.service.subscription(server=True)
        await self._drain(session, requests, lambda _: None)

    async def health(self, request: Any, context: Any) -> Any:
        session = await self._session(context)
        session.last_health = time.monotonic()
        session.member.link.seen_alive(self.service.now())
        return fig_pb2.ServerHealth(status=SERVING if session.events_open else NOT_CONNECTED)


def check_health(service: FederationService) -> None:
    """Close listener sessions whose peer stopped sending health checks."""
    limit = service.config.federation_health_interval * HEALTH_INTERVALS
    now = time.monotonic()
    for member in service.members.values():
        session = member.session
        stale = isinstance(session, Session) and now - session.last_health > limit
        if stale and not session.closed.is_set():
            session.close(f"no health check for {limit:.0f} s")


async def start_listener(service: FederationService, endpoint: Endpoint) -> tuple[Any, str]:
    options = [*ch.message_options(service.config.federation_max_message_bytes)]
    options.append(("grpc.so_reuseport", 0))  # a second server must not share the port
    server = grpc.aio.server(options=options)
    server.add_generic_rpc_handlers((ch.generic_handler(Listener(service).handlers()),))
    credentials = ch.server_credentials(service.identity, service.roots)
    port = server.add_secure_port(f"{endpoint.host}:{endpoint.port}", credentials)
    if port == 0:
        raise OSError(f"federation: cannot listen on {endpoint}")
    await server.start()
    return server, f"{endpoint.host}:{port}"

"""The dialling side of federation: keep a link to a federate up (I/O edge).

Bring-up follows TAK Server's own client (TakFigClient, federation-v2.md §1):
``ServerFederateGroupsStream`` first (it starts TLS; SERVING, or UNIMPLEMENTED,
lets us go on), then ``ClientEventStream`` (the peer's events to us) with a
``Subscription`` whose version major is above 0 (or TAK never completes the
health check), then ``ServerEventStream`` (ours to it) and ``HealthCheck``
every ``federation_health_interval`` seconds; any stream error or a
non-SERVING health answer drops the link, and it is dialled again after the
link's backoff (1 s doubling to TAK's 30 s reconnect interval).

The peer's certificate is checked against the peer CA the administrator
registered, for a name in the registered peer certificate (TAK turns hostname
verification off; this is the closest grpcio allows). The listener on the
other side pins our certificate's fingerprint.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import grpc

from allied_c2.federation import channel as ch
from allied_c2.federation.identity import certificate_facts, load_certificate
from allied_c2.federation.link import State
from allied_c2.federation.proto import fig_pb2

if TYPE_CHECKING:
    from allied_c2.federation.service import FederationService, Member

log = logging.getLogger("allied_c2.federation")
BRING_UP_TIMEOUT_S = 10.0


class LinkError(Exception):
    """The link cannot go on; the message says why."""


def target_name(peer_cert_pem: str) -> str:
    facts = certificate_facts(load_certificate(peer_cert_pem))
    if not facts.names:
        raise LinkError("the registered peer certificate names no host (no SAN, no CN)")
    return facts.names[0]


async def run_dialer(service: FederationService, member: Member) -> None:
    """Dial until the federate is removed (the task is then cancelled)."""
    while member.link.state is not State.CLOSED:
        member.link.connecting(service.now())
        try:
            await dial_once(service, member)
            reason = "the link ended"
        except asyncio.CancelledError:
            service.link_down(member, "stopped", dialer=True)
            raise
        except grpc.aio.AioRpcError as exc:
            reason = f"{exc.code().name}: {exc.details()}"
        except (LinkError, OSError, TimeoutError) as exc:
            reason = str(exc) or type(exc).__name__
        except Exception as exc:  # a bug must not end the link for good
            log.exception("federate %s: dialer failed", member.name)
            reason = repr(exc)
        delay = service.link_down(member, reason, dialer=True)
        await asyncio.sleep(delay)


async def dial_once(service: FederationService, member: Member) -> None:
    record = member.record
    assert record.connect is not None
    interval = service.config.federation_health_interval
    credentials = ch.channel_credentials(service.identity, record.peer_ca.encode("ascii"))
    options = ch.message_options(service.config.federation_max_message_bytes)
    options.append(("grpc.ssl_target_name_override", target_name(record.peer_cert)))
    async with grpc.aio.secure_channel(record.connect, credentials, options=options) as channel:
        subscription = service.subscription(server=False)
        groups = ch.callable_for(channel, ch.SERVER_GROUPS_STREAM)(subscription)
        try:
            first = await asyncio.wait_for(groups.read(), BRING_UP_TIMEOUT_S)
        except grpc.aio.AioRpcError as exc:
            if exc.code() is not grpc.StatusCode.UNIMPLEMENTED:
                raise
        else:
            if first is grpc.aio.EOF or first.streamUpdate.status != fig_pb2.ServerHealth.SERVING:
                raise LinkError(f"the peer's groups stream did not say SERVING ({first!r})")
        inbound = ch.callable_for(channel, ch.CLIENT_EVENT_STREAM)(subscription)
        stop = asyncio.Event()
        member.stop = stop
        service.link_up(member, record.connect, dialer=True)
        outbound = ch.callable_for(channel, ch.SERVER_EVENT_STREAM)(service.outbound(member, stop))
        health = ch.callable_for(channel, ch.HEALTH_CHECK)

        async def read_inbound() -> None:
            async for message in inbound:
                service.inbound(member, message)
            raise LinkError("the peer ended its event stream")

        async def read_answers() -> None:
            async for _ in outbound:  # one Subscription, then nothing until the end
                pass
            raise LinkError("the peer ended our event stream")

        async def hold_groups() -> None:
            while await groups.read() is not grpc.aio.EOF:  # groups are not mapped yet
                pass

        async def check_health() -> None:
            while True:
                await asyncio.sleep(interval)
                answer = await health(
                    fig_pb2.ClientHealth(status=fig_pb2.ClientHealth.SERVING), timeout=3 * interval
                )
                if answer.status != fig_pb2.ServerHealth.SERVING:
                    name = fig_pb2.ServerHealth.ServingStatus.Name(answer.status)
                    raise LinkError(f"peer health: {name}")
                member.link.seen_alive(service.now())

        async def until_stopped() -> None:
            await stop.wait()
            raise LinkError("link closed")

        tasks: list[asyncio.Future[Any]] = [
            asyncio.ensure_future(c)
            for c in (
                read_inbound(),
                read_answers(),
                hold_groups(),
                check_health(),
                until_stopped(),
            )
        ]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        finally:
            stop.set()
            member.wake.set()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]

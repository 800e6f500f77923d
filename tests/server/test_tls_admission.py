"""TLS admission (server/tls_admission.py): the pacer's arithmetic, and the listener
on real sockets with real TLS, on both event loops the server may run on (uvloop in
production, asyncio's own elsewhere)."""

from __future__ import annotations

import asyncio
import ssl
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import uvloop

from allied_c2.config import Config, Endpoint
from allied_c2.pki.tls import server_ssl_context
from allied_c2.server import tls_admission
from allied_c2.server.tls_admission import HandshakePacer, TlsListener
from tests.support.cot import client_tls
from tests.support.server import add_user, cli

LOOPS: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {
    "asyncio": asyncio.new_event_loop,
    "uvloop": uvloop.new_event_loop,
}


def test_the_pacer_allows_a_burst_then_the_rate() -> None:
    pacer = HandshakePacer(per_second=10.0, burst=3)
    assert pacer.take(100.0, 5) == 3  # the burst at once
    assert pacer.take(100.0, 5) == 0
    assert pacer.next_at(100.0) == pytest.approx(100.1)
    assert pacer.take(100.05, 5) == 0  # half a token
    assert pacer.take(100.1, 5) == 1
    assert pacer.take(110.0, 2) == 2  # never more than asked
    assert pacer.take(110.0, 5) == 1  # nor than the burst
    assert pacer.next_at(110.0) == pytest.approx(110.1)
    with pytest.raises(ValueError):
        HandshakePacer(per_second=0.0, burst=1)


@dataclass
class Stats:
    refusals: Counter[str] = field(default_factory=Counter)

    def refuse(self, reason: str) -> None:
        self.refusals[reason] += 1


@dataclass
class Hub:
    stats: Stats = field(default_factory=Stats)


@dataclass
class Service:
    """What the listener uses of the CotService: its configuration and its refusal counter."""

    config: Config
    hub: Hub = field(default_factory=Hub)


class Accepted(asyncio.Protocol):
    """The server side of a connection that finished its handshake."""

    made: list[str]

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        ssl_object = transport.get_extra_info("ssl_object")
        assert ssl_object is not None
        subject = dict(pair for rdn in ssl_object.getpeercert()["subject"] for pair in rdn)
        self.made.append(subject.get("commonName", "?"))


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("admission")
    data, certs = root / "data", root / "certs"
    cli("ca", "init", "--data-dir", str(data))
    add_user(data, "ALPHA", "USA", "SECRET", out=certs)
    return data, certs


def run(loop_name: str, body: Callable[[], Awaitable[None]]) -> None:
    with asyncio.Runner(loop_factory=LOOPS[loop_name]) as runner:
        runner.run(body())  # type: ignore[arg-type]


def listener(data: Path, made: list[str], **config: float) -> tuple[TlsListener, Service]:
    service = Service(Config(data_dir=data, cot_tls=Endpoint("127.0.0.1", 0), **config))  # type: ignore[arg-type]

    def connection() -> asyncio.Protocol:
        accepted = Accepted()
        accepted.made = made
        return accepted

    return TlsListener(service, server_ssl_context(data), connection), service  # type: ignore[arg-type]


async def connect(port: int, context: ssl.SSLContext, name: str, order: list[str]) -> None:
    transport, _ = await asyncio.get_running_loop().create_connection(
        asyncio.Protocol, "127.0.0.1", port, ssl=context
    )
    order.append(name)
    transport.close()


async def waiting(tls: TlsListener, count: int) -> None:
    for _ in range(200):
        if len(tls.waiting) >= count:
            return
        await asyncio.sleep(0.025)
    raise AssertionError(f"{len(tls.waiting)} waiting, not {count}")


@pytest.mark.parametrize("loop_name", sorted(LOOPS))
def test_waiting_handshakes_are_served_newest_first(loop_name: str, pki: tuple[Path, Path]) -> None:
    data, certs = pki

    async def body() -> None:
        made: list[str] = []
        tls, service = listener(data, made, tls_handshake_burst=1)
        port = int(tls.listen("127.0.0.1", 0, backlog=64, reuse_port=False).rsplit(":", 1)[1])
        context = client_tls(certs, "ALPHA")
        order: list[str] = []
        # No token for now: every connection waits (the pacer's rate is tested above).
        tls.pacer = HandshakePacer(per_second=0.001, burst=1)
        tls.pacer.take(asyncio.get_running_loop().time(), 1)
        try:
            clients = []
            for i in range(4):
                clients.append(asyncio.create_task(connect(port, context, f"older{i}", order)))
                await waiting(tls, i + 1)
            clients.append(asyncio.create_task(connect(port, context, "newest", order)))
            await waiting(tls, 5)
            tls.pacer = HandshakePacer(per_second=1000.0, burst=1)  # turns for all, one by one
            tls._admit()
            await asyncio.wait_for(asyncio.gather(*clients), 10)
        finally:
            tls.close()
        assert len(made) == 5 and set(made) == {"ALPHA"}
        assert order[0] == "newest", order  # served before those that waited longer
        assert not service.hub.stats.refusals

    run(loop_name, body)


@pytest.mark.parametrize("loop_name", sorted(LOOPS))
def test_silent_and_failed_handshakes_are_refused_with_a_reason(
    loop_name: str, pki: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    data, certs = pki
    monkeypatch.setattr(tls_admission, "MAX_WAITING", 3)

    async def body() -> None:
        made: list[str] = []
        tls, service = listener(data, made, tls_handshake_timeout=0.5, tls_handshake_burst=1)
        port = int(tls.listen("127.0.0.1", 0, backlog=64, reuse_port=False).rsplit(":", 1)[1])
        refusals = service.hub.stats.refusals
        try:
            # Silent: never sends a ClientHello; closed when the timeout passes.
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            assert await asyncio.wait_for(reader.read(), 5) == b""
            writer.close()
            assert refusals["tls_handshake_timeout"] == 1
            # No client certificate: the handshake fails, counted as such.
            anonymous = ssl.create_default_context(cafile=str(certs / "ca.pem"))
            anonymous.check_hostname = False
            # (TLS 1.3: the client may finish before the server refuses its empty
            # certificate, so the client's side may or may not raise.)
            try:
                transport, _ = await asyncio.get_running_loop().create_connection(
                    asyncio.Protocol, "127.0.0.1", port, ssl=anonymous
                )
                transport.close()
            except (ssl.SSLError, ConnectionError):
                pass
            for _ in range(50):
                if refusals["tls_handshake_failed"]:
                    break
                await asyncio.sleep(0.05)
            assert refusals["tls_handshake_failed"] == 1
            # More waiting than MAX_WAITING: the oldest is closed first.
            tls.pacer = HandshakePacer(per_second=0.001, burst=1)
            tls.pacer.take(asyncio.get_running_loop().time(), 1)  # no token left
            flood = [await asyncio.open_connection("127.0.0.1", port) for _ in range(4)]
            assert await asyncio.wait_for(flood[0][0].read(), 5) == b""
            assert refusals["tls_admission_full"] == 1
            for _, w in flood:
                w.close()
        finally:
            tls.close()
        assert not made

    run(loop_name, body)

"""The TLS listener under a handshake flood and clients stalled mid-handshake.

1,000 TCP connections that never start a handshake and 200 that stop halfway
through their ClientHello: the listener keeps accepting real clients, every
flood connection is closed by the server once ``tls_handshake_timeout`` passes
(3 s here; 10 s by default), the server's open file descriptors come back to
where they were, and the latency between two real TLS clients is measured before
and during the flood (recorded; asserted only against a generous bound, since a
shared two-core machine's timing is not the server's).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from pathlib import Path
from typing import Any

from allied_c2.config import Config
from tests.reliability.support import Load, fd_count, percentile, record, recorder
from tests.support.cot import client_tls
from tests.support.server import ServerProcess, add_user, cli

HANDSHAKE_TIMEOUT = 3.0
SILENT = 1000
STALLED = 200


def client_hello() -> bytes:
    """The first flight of a real TLS client, to send half of."""
    context = ssl.create_default_context()
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = context.wrap_bio(incoming, outgoing, server_hostname="allied-c2")
    with contextlib.suppress(ssl.SSLWantReadError):
        obj.do_handshake()
    return outgoing.read()


async def open_flood(
    host: str, port: int, count: int, first_bytes: bytes = b""
) -> list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    conns = []
    for start in range(0, count, 100):  # under the listen backlog
        batch = await asyncio.gather(
            *(asyncio.open_connection(host, port) for _ in range(min(100, count - start)))
        )
        for _reader, writer in batch:
            if first_bytes:
                writer.write(first_bytes)
        conns.extend(batch)
    return conns


async def closed_by_server(reader: asyncio.StreamReader, limit: float) -> float | None:
    started = time.monotonic()
    try:
        await asyncio.wait_for(reader.read(), limit)
    except ConnectionResetError:  # closed with the ClientHello still unread: a reset
        pass
    except TimeoutError:
        return None
    return time.monotonic() - started


async def latencies(host: str, port: int, certs: Path, seconds: float) -> list[float]:
    """Relay latency (ms) between two real TLS clients, 20 events/s for ``seconds``."""
    witness = await recorder(host, port, client_tls(certs, "PONG"))
    load = await Load(host, port, senders=1, rate=20.0, tls=client_tls(certs, "PING")).start()
    await asyncio.sleep(seconds)
    await load.stop()
    await asyncio.sleep(0.3)
    witness.close()
    return [(witness.seen[k] - t) * 1000 for k, t in load.sent.items() if k in witness.seen]


def summary(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50_ms": round(percentile(values, 0.5), 2),
        "p99_ms": round(percentile(values, 0.99), 2),
    }


async def test_handshake_flood_and_stalled_handshakes(tmp_path: Path) -> None:
    assert Config().tls_handshake_timeout == 10.0  # the default the docs name
    data, certs = tmp_path / "data", tmp_path / "certs"
    cli("ca", "init", "--data-dir", str(data))
    for name in ("PING", "PONG", "LATE"):
        add_user(data, name, "USA", "SECRET", out=certs)
    config = tmp_path / "allied-c2.toml"
    config.write_text(f"tls_handshake_timeout = {HANDSHAKE_TIMEOUT}\n")
    server = ServerProcess(data, "--config", str(config), tls=True).start(timeout=60)
    assert server.proc is not None
    pid = server.proc.pid
    host, port = server.address("cot_tls")
    figures: dict[str, Any] = {"handshake_timeout_s": HANDSHAKE_TIMEOUT}
    try:
        figures["normal"] = summary(await latencies(host, port, certs, 5.0))
        figures["fds_before"] = fd_count(pid)
        flood_started = time.monotonic()
        silent = await open_flood(host, port, SILENT)
        stalled = await open_flood(host, port, STALLED, client_hello()[:60])
        figures["flood_open_s"] = round(time.monotonic() - flood_started, 2)
        figures["fds_in_flood"] = fd_count(pid)
        # The listener keeps accepting, and real clients keep their latency.
        t0 = time.monotonic()
        late = await recorder(host, port, client_tls(certs, "LATE"))
        figures["new_client_connect_ms"] = round((time.monotonic() - t0) * 1000, 1)
        during = await latencies(host, port, certs, 2.0)  # the flood still holds its sockets
        figures["during_flood"] = summary(during)
        late.close()
        limit = HANDSHAKE_TIMEOUT + 15.0
        closes = await asyncio.gather(*(closed_by_server(r, limit) for r, _ in silent + stalled))
        figures["flood_closed_by_server"] = sum(1 for c in closes if c is not None)
        figures["flood_closed_within_s"] = round(time.monotonic() - flood_started, 2)
        for _, writer in silent + stalled:
            writer.transport.abort()
        await asyncio.sleep(1.0)
        figures["fds_after"] = fd_count(pid)
        figures["after_flood"] = summary(await latencies(host, port, certs, 3.0))
        figures["server_alive"] = server.proc.poll() is None
    finally:
        server.stop()
    figures["latency_ratio_p50"] = round(
        figures["during_flood"]["p50_ms"] / max(figures["normal"]["p50_ms"], 0.01), 2
    )
    figures["latency_ratio_p99"] = round(
        figures["during_flood"]["p99_ms"] / max(figures["normal"]["p99_ms"], 0.01), 2
    )
    record("tls_flood", figures)
    assert figures["server_alive"]
    assert figures["flood_closed_by_server"] == SILENT + STALLED, "a handshake never timed out"
    assert figures["fds_after"] <= figures["fds_before"] + 5, "file descriptors leaked"
    assert figures["during_flood"]["n"] >= 30, "real clients stopped getting events"
    # Generous: the target is 2×, recorded above; this only catches a stalled listener.
    assert figures["during_flood"]["p50_ms"] <= 10 * figures["normal"]["p50_ms"] + 100

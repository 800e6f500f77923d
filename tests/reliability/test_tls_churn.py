"""500 TLS clients reconnecting at once, in a loop, for a minute (`make soak`: over a minute).

Every round all 500 connect with their certificates (full handshakes), and once
all are in, all drop at once and the next round starts. Meanwhile two real
clients measure relay latency. The listener must keep accepting (no failed
handshakes beyond a handful), the server's file descriptors must come back to
where they were, and the probe's latency is recorded next to its baseline.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.support import fd_count, record
from tests.reliability.test_tls_listener import latencies, summary
from tests.support.cot import client_tls
from tests.support.server import ServerProcess, add_user, cli

CLIENTS = 500
CHURN_S = 60.0


class Quiet(asyncio.Protocol):
    def data_received(self, data: bytes) -> None:
        pass


@pytest.mark.soak
@pytest.mark.timeout(300)
async def test_500_clients_reconnecting_for_a_minute(tmp_path: Path) -> None:
    data, certs = tmp_path / "data", tmp_path / "certs"
    cli("ca", "init", "--data-dir", str(data))
    for name in ("PING", "PONG", "CHURN"):
        add_user(data, name, "USA", "SECRET", out=certs)
    server = ServerProcess(data, tls=True).start(timeout=60)
    assert server.proc is not None
    pid = server.proc.pid
    host, port = server.address("cot_tls")
    loop = asyncio.get_running_loop()
    context = client_tls(certs, "CHURN")
    figures: dict[str, Any] = {"clients": CLIENTS, "churn_s": CHURN_S}
    rounds = handshakes = failures = 0
    try:
        figures["normal"] = summary(await latencies(host, port, certs, 5.0))
        figures["fds_before"] = fd_count(pid)
        stop_at = time.monotonic() + CHURN_S
        probe = asyncio.create_task(latencies(host, port, certs, CHURN_S - 5.0))
        while time.monotonic() < stop_at:
            results = await asyncio.gather(
                *(loop.create_connection(Quiet, host, port, ssl=context) for _ in range(CLIENTS)),
                return_exceptions=True,
            )
            connected = [r for r in results if not isinstance(r, BaseException)]
            failures += len(results) - len(connected)
            handshakes += len(connected)
            rounds += 1
            for transport, _ in connected:
                transport.abort()
        figures["during_churn"] = summary(await probe)
        await asyncio.sleep(2.0)
        figures["fds_after"] = fd_count(pid)
        figures["server_alive"] = server.proc.poll() is None
    finally:
        server.stop()
    figures.update(
        rounds=rounds,
        handshakes=handshakes,
        handshakes_per_s=round(handshakes / CHURN_S, 1),
        failed_connects=failures,
        latency_ratio_p50=round(
            figures["during_churn"]["p50_ms"] / max(figures["normal"]["p50_ms"], 0.01), 2
        ),
    )
    record("tls_churn", figures)
    assert figures["server_alive"]
    assert failures <= 0.01 * max(handshakes, 1), "the listener refused handshakes"
    assert figures["fds_after"] <= figures["fds_before"] + 5, "file descriptors leaked"
    assert figures["during_churn"]["n"] > 0, "the probe got nothing during the churn"

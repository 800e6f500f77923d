"""NATS away for a few seconds (issue 13): each node goes on relaying to its own clients,
what was accepted meanwhile reaches the other node once NATS is back, and history has it
exactly once (retries carry the same message id, which JetStream stores once).

Runs its own nats-server (Debian's package) so that it can stop and restart it.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cluster.support import Cluster
from tests.cluster.test_relay import wait_history
from tests.support.cot import CotClient, client_tls, marker, pli


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Nats:
    def __init__(self, binary: str, port: int, store: Path, log: Path) -> None:
        self.argv = [binary, "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", str(store)]
        self.port = port
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            self.argv, stdout=self.log.open("ab"), stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise AssertionError(self.log.read_text()) from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


@pytest.fixture
def own_nats(cluster_db: str, tmp_path: Path) -> Iterator[tuple[Cluster, Nats]]:
    binary = shutil.which("nats-server")
    if binary is None:
        pytest.skip("nats-server is not installed (Debian package nats-server)")
    port = _free_port()
    nats = Nats(binary, port, tmp_path / "js", tmp_path / "nats.log")
    nats.start()
    made = Cluster(tmp_path, f"nats://127.0.0.1:{port}", cluster_db, "outage")
    try:
        yield made, nats
    finally:
        made.stop_all()
        nats.stop()


async def test_nats_away_for_seconds_loses_nothing_and_stores_it_once(
    own_nats: tuple[Cluster, Nats],
) -> None:
    cluster, nats = own_nats
    for name in ("ALPHA", "BRAVO", "LOCAL"):
        cluster.add_user(name, "USA", "SECRET")
    one = cluster.start_node("n1", http=False)
    two = cluster.start_node("n2", http=False)
    tls = {name: client_tls(cluster.certs, name) for name in ("ALPHA", "BRAVO", "LOCAL")}
    alpha = await CotClient.connect(*one.address("cot_tls"), tls=tls["ALPHA"])
    local = await CotClient.connect(*one.address("cot_tls"), tls=tls["LOCAL"])
    bravo = await CotClient.connect(*two.address("cot_tls"), tls=tls["BRAVO"])
    try:
        await alpha.send(pli("alpha-uid", "ALPHA"))
        await bravo.wait_uid("alpha-uid")
        nats.stop()
        await alpha.send(marker("during-outage", 35.3, 139.3))
        await local.wait_uid("during-outage")  # the node goes on relaying to its own clients
        await asyncio.sleep(3.0)  # past the first publish timeout: it is sent again
        nats.start()
        await bravo.wait_uid("during-outage", timeout=15)  # and then on the other node
        await alpha.send(marker("after-outage", 35.4, 139.4))
        await bravo.wait_uid("after-outage", timeout=10)
    finally:
        for client in (alpha, local, bravo):
            await client.close()
    counts = await wait_history(cluster.database_url, {"during-outage", "after-outage"}, 15)
    assert counts.get("during-outage") == 1 and counts.get("after-outage") == 1, counts

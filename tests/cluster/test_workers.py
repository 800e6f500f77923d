"""`serve --workers N`: N processes on one host sharing the listeners, one picture.

The kernel spreads connections over the workers (SO_REUSEPORT); each worker is a
cluster node, so clients that landed on different workers see each other, and the
supervisor starts a worker again when it dies.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import time
from typing import Any

import pytest

from tests.cluster.support import Cluster
from tests.support.cot import pli
from tests.support.pytak_client import PytakClient
from tests.support.server import ServerProcess, cli

pytestmark = pytest.mark.timeout(240)


def _alive_nodes(server: ServerProcess, token: str) -> dict[str, dict[str, Any]]:
    shown = server.get_json("/api/v1/cluster", token)
    return {n["node"]: n for n in shown["nodes"] if n["alive"]}


async def _wait(what: str, check: Any, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = await asyncio.to_thread(check)
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.5)


async def test_two_workers_share_the_ports_and_the_picture(cluster: Cluster) -> None:
    for index in range(12):
        cluster.add_user(f"W{index}", "USA", "SECRET")
    cluster.add_user("ROOT", "USA", "SECRET", roles=("admin",))
    token = cluster.token("ROOT")
    data = cluster.root / "workers"
    shutil.copytree(cluster.base / "pki", data / "pki")
    server = ServerProcess(data, *cluster.node_args("host"), "--workers", "2", tls=True)
    server.start(timeout=90)
    cluster.nodes.append(server)
    clients: list[PytakClient] = []
    try:
        nodes = await _wait(
            "both workers in the cluster",
            lambda: (
                (found := _alive_nodes(server, token)).keys() >= {"host-w0", "host-w1"} and found
            ),
        )
        assert set(nodes) == {"host-w0", "host-w1"}
        # Connect until the kernel has put clients on both workers (it hashes each
        # connection's addresses: a dozen connections miss one worker with p < 0.001).
        host, port = server.address("cot_tls")
        for index in range(12):
            client = await PytakClient.tls(host, port, cluster.certs, f"W{index}")
            clients.append(client)
            await client.send(pli(f"w{index}-uid", f"W{index}"))

        def spread() -> bool:
            counts = [n["clients"] for n in _alive_nodes(server, token).values()]
            return len(counts) == 2 and min(counts) > 0 and sum(counts) == len(clients)

        await _wait("clients on both workers", spread)
        # One picture: every client sees every other, wherever each one landed.
        for me, client in enumerate(clients):
            for other in range(len(clients)):
                if other != me:
                    await client.wait_for_uid(f"w{other}-uid", timeout=20)
        status = cli("cluster", "status", *cluster.store_args()).stdout
        assert "host-w0" in status and "host-w1" in status

        # A worker that dies is started again by the supervisor.
        first = server.endpoints["pid"]  # worker 0 writes endpoints.json
        os.kill(first, signal.SIGKILL)
        await _wait(
            "worker 0 back",
            lambda: (
                (server.data_dir / "endpoints.json").exists()
                and '"pid": ' in (text := (server.data_dir / "endpoints.json").read_text())
                and f'"pid": {first}' not in text
            ),
            timeout=60,
        )
        assert server.proc is not None and server.proc.poll() is None
    finally:
        for client in clients:
            await client.close()


def test_workers_need_a_cluster(tmp_path: Any) -> None:
    done = cli("serve", "--data-dir", str(tmp_path / "d"), "--workers", "2", check=False)
    assert done.returncode != 0
    assert "--workers" in done.stderr + done.stdout

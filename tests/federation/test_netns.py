"""Three servers, each in its own network namespace, federated over a bridge.

Each national server runs in its own namespace (``ip netns``) with one
interface on a bridge in the test's namespace (10.211.N.0/24 addresses), so
the links cross real network interfaces, not loopback: USA dials JPN and PHL.
Needs root and ``ip netns``; skipped, saying why, otherwise.

Marked ``serial``: creating the bridge and veth interfaces changes the host's
network, and a browser test running beside it then sees its requests fail with
``net::ERR_NETWORK_CHANGED`` (Chromium's network-change notifier; found in a
``make test`` run).
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import tests.support.server as server_module
from tests.federation.support import Node, await_for, make_node, register, wait_up
from tests.support.cot import marker

pytestmark = [pytest.mark.slow, pytest.mark.serial, pytest.mark.timeout(600)]

SUBNET = "10.211.7"
NATIONS = {"USA": 1, "JPN": 2, "PHL": 3}  # host number on the bridge


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check, timeout=30)


def _netns_problem() -> str | None:
    if os.geteuid() != 0:
        return "needs root for ip netns"
    if shutil.which("ip") is None:
        return "no ip command (iproute2)"
    probe = f"a2c-probe-{secrets.token_hex(3)}"
    made = _ip("netns", "add", probe, check=False)
    if made.returncode != 0:
        return f"ip netns add refused: {made.stderr.strip()}"
    _ip("netns", "del", probe, check=False)
    return None


class NamespacedServer(server_module.ServerProcess):
    """``allied-c2 serve`` run with ``ip netns exec NS`` (ip execs it: signals reach it)."""

    def __init__(self, namespace: str, address: str, data_dir: Path, *extra: str) -> None:
        super().__init__(data_dir, *extra, tls=True)
        self.namespace = namespace
        self.args = [a.replace("127.0.0.1", address) for a in self.args]

    def start(self, timeout: float = 30.0) -> server_module.ServerProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        endpoints = self.data_dir / "endpoints.json"
        endpoints.unlink(missing_ok=True)
        argv = ["ip", "netns", "exec", self.namespace, *server_module.CLI, *self.args]
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(argv, cwd=server_module.ROOT, stdout=log, stderr=log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited {self.proc.returncode}:\n{self.log()}")
            if endpoints.exists():
                try:
                    self.endpoints = json.loads(endpoints.read_text())
                except ValueError:
                    self.endpoints = {}
                if self.endpoints and self.healthy():
                    return self
            time.sleep(0.05)
        self.kill()
        raise AssertionError(f"server did not start in {timeout}s:\n{self.log()}")


@pytest.fixture(scope="module")
def namespaces() -> Iterator[dict[str, tuple[str, str]]]:
    problem = _netns_problem()
    if problem is not None:
        pytest.skip(problem)
    tag = secrets.token_hex(2)
    bridge = f"a2cbr{tag}"
    made: dict[str, tuple[str, str]] = {}
    _ip("link", "add", bridge, "type", "bridge")
    try:
        _ip("addr", "add", f"{SUBNET}.254/24", "dev", bridge)
        _ip("link", "set", bridge, "up")
        for nation, host in NATIONS.items():
            ns, outside = f"a2c-{nation.lower()}-{tag}", f"a2c{nation.lower()}{tag}"
            _ip("netns", "add", ns)
            made[nation] = (ns, f"{SUBNET}.{host}")
            _ip("link", "add", outside, "type", "veth", "peer", "name", "eth0", "netns", ns)
            _ip("link", "set", outside, "master", bridge, "up")
            _ip("-n", ns, "addr", "add", f"{SUBNET}.{host}/24", "dev", "eth0")
            _ip("-n", ns, "link", "set", "eth0", "up")
            _ip("-n", ns, "link", "set", "lo", "up")
        yield made
    finally:
        for ns, _ in made.values():
            _ip("netns", "del", ns, check=False)  # its veth end goes with it
        _ip("link", "del", bridge, check=False)


async def test_each_server_in_its_own_network_namespace(
    namespaces: dict[str, tuple[str, str]], tmp_path: Path
) -> None:
    users = {
        "USA": [("us-ops", "USA", "SECRET")],
        "JPN": [("jp-ops", "JPN", "SECRET")],
        "PHL": [("ph-ops", "PHL", "SECRET")],
    }

    def node(nation: str) -> Node:
        made = make_node(tmp_path, f"{nation}-SRV", nation, users[nation])
        ns, address = namespaces[nation]
        made.server = NamespacedServer(
            ns, address, made.data, "--federation", f"{address}:9001",
            "--federation-nation", nation,
        )  # fmt: skip
        return made

    with ThreadPoolExecutor(3) as pool:
        usa, jpn, phl = pool.map(node, NATIONS)
    nodes = (usa, jpn, phl)
    try:
        with ThreadPoolExecutor(3) as pool:
            list(pool.map(lambda n: n.server.start(60), nodes))
        for peer in (jpn, phl):
            register(peer, usa, dial=False)
        for peer in (jpn, phl):
            register(usa, peer, dial=True)
        wait_up(usa, "JPN-SRV")
        wait_up(usa, "PHL-SRV")
        links = usa.links()
        assert links["JPN-SRV"]["peer"]["address"].startswith(namespaces["JPN"][1])
        assert links["PHL-SRV"]["peer"]["address"].startswith(namespaces["PHL"][1])

        sender = await usa.client("us-ops")
        try:
            await asyncio.sleep(0.5)
            await sender.send(marker("ns-noforn", 35.1, 139.1, marking=("SECRET", "NOFORN", None)))
            await sender.send(
                marker("ns-rel", 35.2, 139.2, marking=("SECRET", "REL TO", "USA JPN"))
            )
            await sender.send(marker("ns-pub", 35.3, 139.3))
            for peer in (jpn, phl):
                await await_for(lambda p=peer: p.rows("ns-pub"), what=f"ns-pub on {peer.name}")
        finally:
            await sender.close()
        await asyncio.sleep(1.0)  # FIFO per link: what came before ns-pub was decided
        assert jpn.rows("ns-rel") and not phl.rows("ns-rel")
        assert not jpn.rows("ns-noforn") and not phl.rows("ns-noforn")
        assert usa.links()["PHL-SRV"]["refusals"].get("release", 0) >= 2
    finally:
        for each in nodes:
            each.server.stop()
            each.close()

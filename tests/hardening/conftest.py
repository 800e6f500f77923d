"""An in-process server (real runtime, real listeners on loopback) for the issue 9 tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from allied_c2.app import Runtime, build_runtime
from allied_c2.config import Config, Endpoint
from allied_c2.security.principals import Principal
from allied_c2.web.api import create_api
from allied_c2.web.serving import HttpServers, start_http

LOOPBACK = Endpoint("127.0.0.1", 0)
# callsign, nation, clearance, roles
PEOPLE = (
    ("ROOT", "USA", "SECRET", ("admin",)),
    ("EAGLE", "USA", "SECRET", ("operator",)),
    ("SAKURA", "JPN", "SECRET", ("operator",)),
)


@dataclass
class Node:
    runtime: Runtime
    servers: HttpServers
    tokens: dict[str, str] = field(default_factory=dict)

    def address(self, name: str) -> tuple[str, int]:
        host, _, port = self.servers.addresses.get(name, "").rpartition(":")
        if not host:
            host, _, port = self.runtime.service.bound[name].rpartition(":")
        return host, int(port)

    def url(self, name: str = "http", scheme: str = "http") -> str:
        host, port = self.address(name)
        return f"{scheme}://{host}:{port}"

    def asgi(self) -> httpx.AsyncClient:
        """The API app without a socket (for what does not need one)."""
        transport = httpx.ASGITransport(app=create_api(self.runtime))
        return httpx.AsyncClient(transport=transport, base_url="http://allied-c2.test")

    def auth(self, callsign: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[callsign]}"}


async def open_node(data_dir: Path, **settings: Any) -> Node:
    config = replace(
        Config(
            data_dir=data_dir,
            cot_tcp=LOOPBACK,
            cot_tls=None,
            http=LOOPBACK,
            store_flush_interval=0.02,
        ),
        **settings,
    )
    runtime = build_runtime(config)
    await runtime.service.start()
    servers = await start_http(runtime)
    node = Node(runtime, servers)
    for callsign, nation, clearance, roles in PEOPLE:
        runtime.principals.add(Principal(callsign, nation, clearance, roles=frozenset(roles)))
        node.tokens[callsign] = runtime.principals.issue_token(callsign).token
    return node


async def close_node(node: Node) -> None:
    await node.servers.stop()
    await node.runtime.service.stop()
    await asyncio.to_thread(node.runtime.writer.close)
    node.runtime.audit.close()


NodeFactory = Callable[..., Coroutine[Any, Any, Node]]


@pytest.fixture
async def make_node(tmp_path: Path) -> AsyncIterator[NodeFactory]:
    """``await make_node(**config)``: a started node, closed after the test."""
    nodes: list[Node] = []

    async def make(**settings: Any) -> Node:
        node = await open_node(tmp_path / f"var{len(nodes)}", **settings)
        nodes.append(node)
        return node

    yield make
    for node in nodes:
        await close_node(node)


@pytest.fixture
async def node(make_node: NodeFactory) -> Node:
    return await make_node()

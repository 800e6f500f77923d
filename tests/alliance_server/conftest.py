"""An in-process server (real runtime, real HTTP app, real TCP listener) on a manual clock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from allied_c2.alliance.clock import Clock, ManualClock
from allied_c2.app import Runtime, build_runtime
from allied_c2.config import Config, Endpoint
from allied_c2.security.audit import AuditEntry
from allied_c2.security.principals import Principal
from allied_c2.web.api import create_api

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
# A Wednesday, 10:00 in Tokyo: every Japan-based office is open.
START = datetime(2026, 3, 4, 1, 0, tzinfo=UTC)

# callsign, nation, clearance, roles, organisation
PEOPLE: tuple[tuple[str, str, str, tuple[str, ...], str], ...] = (
    ("MARINE-OPS", "USA", "SECRET", ("operator",), "3mardiv"),
    ("MEF-CG", "USA", "SECRET", ("commander",), "iiimef"),
    ("MEF-STAFF", "USA", "SECRET", ("operator",), "iiimef"),
    ("JS-CMDR", "JPN", "SECRET", ("commander",), "js"),
    ("GCC-OPS", "JPN", "SECRET", ("operator",), "gcc"),
    ("AGILA", "PHL", "CONFIDENTIAL", ("commander",), "js"),
)


@dataclass
class Server:
    runtime: Runtime
    client: httpx.AsyncClient
    clock: Clock
    tokens: dict[str, str] = field(default_factory=dict)

    def auth(self, callsign: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[callsign]}"}

    async def post(self, path: str, who: str | None, body: dict[str, Any]) -> httpx.Response:
        headers = self.auth(who) if who else {}
        return await self.client.post(path, json=body, headers=headers)

    async def get(self, path: str, who: str | None = None, **params: str) -> httpx.Response:
        headers = self.auth(who) if who else {}
        return await self.client.get(path, headers=headers, params=params)

    def cot_address(self) -> tuple[str, int]:
        host, _, port = self.runtime.service.bound["cot_tcp"].rpartition(":")
        return host, int(port)

    async def audit_entries(
        self, predicate: Callable[[AuditEntry], bool], count: int, timeout: float = 5.0
    ) -> list[AuditEntry]:
        """The audit entries matching ``predicate`` once at least ``count`` are written
        (appends happen on the audit thread, so they are waited for)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            found = [e for e in self.runtime.audit_log.entries() if predicate(e)]
            if len(found) >= count or loop.time() > deadline:
                return found
            await asyncio.sleep(0.02)


def add_people(runtime: Runtime) -> dict[str, str]:
    tokens: dict[str, str] = {}
    for callsign, nation, clearance, roles, org in PEOPLE:
        if runtime.principals.get(callsign) is None:
            runtime.principals.add(
                Principal(callsign, nation, clearance, roles=frozenset(roles), organisation=org)
            )
        tokens[callsign] = runtime.principals.issue_token(callsign).token
    return tokens


async def open_server(
    data_dir: Path, scenario: str | None = "alliance-2024.yaml", clock: Clock | None = None
) -> Server:
    config = Config(
        data_dir=data_dir,
        cot_tcp=Endpoint("127.0.0.1", 0),
        cot_tls=None,
        http=None,
        scenario=SCENARIOS / scenario if scenario else None,
        store_flush_interval=0.02,
    )
    clock = clock or ManualClock(START)
    runtime = build_runtime(config, clock=clock)
    await runtime.service.start()
    assert runtime.decisions is not None
    await runtime.decisions.start()
    transport = httpx.ASGITransport(app=create_api(runtime))
    client = httpx.AsyncClient(transport=transport, base_url="http://allied-c2.test")
    return Server(runtime, client, clock, add_people(runtime))


async def close_server(server: Server) -> None:
    await server.client.aclose()
    runtime = server.runtime
    if runtime.decisions is not None:
        runtime.decisions.stop()
    await runtime.service.stop()
    await asyncio.to_thread(runtime.writer.close)
    runtime.audit.close()


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[Server]:
    srv = await open_server(tmp_path / "var")
    try:
        yield srv
    finally:
        await close_server(srv)

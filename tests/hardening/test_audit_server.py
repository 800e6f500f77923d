"""Issue 9 D on a running server: refusals cannot flood the audit chain, and nothing
audited happens while the audit log cannot be written."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from tests.hardening.conftest import Node, NodeFactory
from tests.support.cot import CotClient, marker


def audit_count(node: Node, action: str) -> int:
    return sum(1 for e in node.runtime.audit_log.entries() if e.action == action)


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll: the relay and the audit thread give no event to wait on."""
    for _ in range(int(timeout / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)


async def test_an_anonymous_flood_of_refusals_is_rate_limited(make_node: NodeFactory) -> None:
    node = await make_node(audit_refusals_per_minute=20)
    stats, queue = node.runtime.hub.stats, node.runtime.audit
    client = await CotClient.connect(*node.address("cot_tcp"))
    try:
        for i in range(200):  # anonymous may not send SECRET: each one is refused
            await client.send(marker(f"flood-{i}", 10.0, 120.0, marking=("SECRET", None, None)))
        await until(lambda: sum(stats.refusals.values()) >= 200)
    finally:
        await client.close()
    await until(lambda: queue.pending == 0 and queue.written + queue.suppressed >= 200)
    written = audit_count(node, "send.refused")
    assert 0 < written <= 21  # the burst, and at most one more refilled meanwhile
    assert written + queue.suppressed == 200
    assert node.runtime.audit_log.verify().ok


async def test_audited_actions_are_refused_while_the_audit_log_fails(node: Node) -> None:
    node.runtime.audit.failing = True
    async with node.asgi() as client:
        response = await client.post(
            "/api/v1/requests", json={"kind": "x"}, headers=node.auth("EAGLE")
        )
        reading = await client.get("/api/v1/picture", headers=node.auth("EAGLE"))
    assert response.status_code == 503
    assert "refusing to act unaudited" in response.json()["detail"]
    assert reading.status_code == 200  # reads are not audited: they go on


async def test_without_fail_closed_the_action_goes_ahead(make_node: NodeFactory) -> None:
    node = await make_node(audit_fail_closed=False)
    node.runtime.audit.failing = True
    async with node.asgi() as client:
        response = await client.post(
            "/api/v1/requests", json={"kind": "x"}, headers=node.auth("EAGLE")
        )
    assert response.status_code != 503

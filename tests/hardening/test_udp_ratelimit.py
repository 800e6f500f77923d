"""Issue 9 E: UDP input is rate-limited per source address."""

from __future__ import annotations

import asyncio
import socket

from tests.hardening.conftest import LOOPBACK, NodeFactory
from tests.support.cot import marker


async def test_a_flooding_source_is_cut_to_its_rate(make_node: NodeFactory) -> None:
    node = await make_node(cot_udp=LOOPBACK, max_datagrams_per_second=50)
    stats = node.runtime.hub.stats
    target = node.address("cot_udp")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as flood:
        for i in range(300):
            flood.sendto(marker(f"udp-{i}", 10.0, 120.0), target)
            if i % 10 == 0:
                await asyncio.sleep(0.001)  # let the loop read, so the kernel buffer holds
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 5
    received = 0
    while loop.time() < deadline:  # until the server has read what the kernel kept
        await asyncio.sleep(0.2)
        now = stats.events_in + stats.refusals.get("rate_limited", 0)
        if now == received:
            break
        received = now
    assert received >= 150, "the kernel dropped too much to tell"
    assert stats.events_in <= 60  # one second's bucket (and what refilled meanwhile)
    assert stats.refusals["rate_limited"] == received - stats.events_in
    # Another source has its own bucket.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as other:
        other.bind(("127.0.0.2", 0))
        before = stats.events_in
        other.sendto(marker("udp-other", 10.0, 120.0), target)
        for _ in range(250):
            if stats.events_in > before:
                break
            await asyncio.sleep(0.02)
    assert stats.events_in == before + 1

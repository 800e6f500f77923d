"""A link survives SIGKILL of one side: nothing accepted is lost, nothing is doubled.

USA dials JPN. Clients on both servers send position reports all the time; the
US server is killed with SIGKILL in the middle and started again on the same
data dir. Afterwards each server holds, exactly once, every item the other one
accepted (committed to its history) that is not stale.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from pathlib import Path

import pytest

from tests.federation.support import Node, await_for, make_node, register, wait_up
from tests.support.cot import CotClient, marker
from tests.support.server import cli

# Three servers and a dozen CLI runs to set them up: minutes on a busy machine.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def _uids(node: Node, prefix: str) -> Counter[str]:
    with node.engine.connect() as conn:
        from sqlalchemy import text

        rows = conn.execute(text("SELECT uid FROM events WHERE uid LIKE :p"), {"p": prefix + "%"})
        return Counter(row.uid for row in rows)


async def _send(client: CotClient, prefix: str, sent: list[str], stop: asyncio.Event) -> None:
    n = 0
    with contextlib.suppress(ConnectionError, OSError):
        while not stop.is_set():
            uid = f"{prefix}-{n}"
            await client.send(marker(uid, 35.0 + n * 1e-4, 139.0, cot_type="a-f-G", stale_s=600))
            sent.append(uid)
            n += 1
            await asyncio.sleep(0.02)


async def test_sigkill_loses_and_doubles_nothing(tmp_path: Path) -> None:
    usa = make_node(tmp_path, "USA-SRV", "USA", [("us-ops", "USA", "SECRET")])
    jpn = make_node(tmp_path, "JPN-SRV", "JPN", [("jp-ops", "JPN", "SECRET")])
    try:
        usa.server.start(60)
        jpn.server.start(60)
        register(jpn, usa, dial=False)
        register(usa, jpn, dial=True)
        wait_up(usa, "JPN-SRV")
        us_client, jp_client = await usa.client("us-ops"), await jpn.client("jp-ops")
        us_sent: list[str] = []
        jp_sent: list[str] = []
        stop_us, stop_jp = asyncio.Event(), asyncio.Event()
        us_task = asyncio.create_task(_send(us_client, "us", us_sent, stop_us))
        jp_task = asyncio.create_task(_send(jp_client, "jp", jp_sent, stop_jp))
        await asyncio.sleep(2.0)
        usa.server.kill()  # SIGKILL, while both sides send
        stop_us.set()
        await us_task
        await us_client.close()
        await asyncio.sleep(2.0)  # JPN goes on sending into a dead link
        usa.server.start(60)
        await asyncio.to_thread(wait_up, usa, "JPN-SRV")
        us_client = await usa.client("us-ops")
        stop_us.clear()
        us_task = asyncio.create_task(_send(us_client, "us-after", us_sent, stop_us))
        await asyncio.sleep(1.5)
        stop_us.set()
        stop_jp.set()
        await asyncio.gather(us_task, jp_task)
        last_us, last_jp = us_sent[-1], jp_sent[-1]
        await await_for(lambda: jpn.rows(last_us), 60, "the last US item at JPN")
        await await_for(lambda: usa.rows(last_jp), 60, "the last JPN item at USA")
        await asyncio.sleep(1.0)  # history flush on both sides

        us_at_usa, us_at_jpn = _uids(usa, "us"), _uids(jpn, "us")
        jp_at_jpn, jp_at_usa = _uids(jpn, "jp"), _uids(usa, "jp")
        assert len(jp_at_jpn) == len(jp_sent)  # JPN was never down: it kept everything
        assert set(us_at_usa) <= set(us_at_jpn), sorted(set(us_at_usa) - set(us_at_jpn))[:10]
        assert set(jp_at_jpn) <= set(jp_at_usa), sorted(set(jp_at_jpn) - set(jp_at_usa))[:10]
        for counts in (us_at_usa, us_at_jpn, jp_at_jpn, jp_at_usa):
            doubled = [uid for uid, n in counts.items() if n > 1]
            assert not doubled, doubled[:10]
        # The picture the web sees holds each item once, too.
        picture = usa.server.get_json("/api/v1/picture", usa.admin_token)["items"]
        uids = [item["uid"] for item in picture]
        assert len(uids) == len(set(uids))
        assert set(jp_at_jpn) <= set(uids)

        # Removing the federate on one side closes the link at once, and it stays closed.
        cli("federate", "remove", "--data-dir", str(jpn.data), "--name", "USA-SRV")
        await await_for(lambda: usa.links()["JPN-SRV"]["state"] != "up", 15, "link closed")
        await asyncio.sleep(2.5)
        assert usa.links()["JPN-SRV"]["state"] != "up"
        assert jpn.links() == {}
        assert jpn.audit("federation.refused")
        await us_client.close()
        await jp_client.close()
    finally:
        for node in (usa, jpn):
            node.server.stop()
            node.close()

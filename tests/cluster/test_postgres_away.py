"""PostgreSQL away from a two-node cluster for about 10 s (issue 13, docs/scaling.md).

Both nodes reach the shared PostgreSQL through a proxy that the test cuts (the
machine's PostgreSQL is never stopped). While it is away: an event accepted on one
node still reaches a client on the other (the stream is NATS JetStream, not the
database), and a new request is refused with a 503 rather than acknowledged. When it
is back: what was accepted meanwhile is in history exactly once (the history lease
holder's cursor did not move past what it could not write), a node owns deadlines
again, and requests are accepted.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path

from sqlalchemy.engine import make_url

from allied_c2.store.db import normalise_url
from tests.alliance_server.test_requests_api import REL_JPN, logistics
from tests.cluster.conftest import _delete_streams
from tests.cluster.support import Cluster, post_json
from tests.cluster.test_relay import wait_history
from tests.reliability.tcpproxy import TcpProxy
from tests.support.cot import CotClient, client_tls, marker, pli
from tests.support.server import cli

OUTAGE_S = 10.0


async def test_postgres_away_the_cluster_relays_refuses_writes_and_catches_up(
    nats_url: str, cluster_db: str, tmp_path: Path
) -> None:
    direct = make_url(normalise_url(cluster_db))
    proxy = TcpProxy((direct.host or "127.0.0.1", direct.port or 5432)).start()
    via_proxy = direct.set(host=proxy.address[0], port=proxy.address[1])
    prefix = f"t{uuid.uuid4().hex[:10]}"
    cluster = Cluster(tmp_path, nats_url, via_proxy.render_as_string(hide_password=False), prefix)
    clients: list[CotClient] = []
    try:
        for name in ("ALPHA", "BRAVO"):
            cluster.add_user(name, "USA", "SECRET")
        cluster.add_user("MARINE-OPS", "USA", "SECRET", roles=("operator",), org="3mardiv")
        scenario = ("--scenario", "scenarios/alliance-2024.yaml")
        one = cluster.start_node("n1", *scenario)
        two = cluster.start_node("n2", *scenario)
        ops = cluster.token("MARINE-OPS")
        body = {**logistics(REL_JPN), "needed_by": None}
        alpha = await CotClient.connect(
            *one.address("cot_tls"), tls=client_tls(cluster.certs, "ALPHA")
        )
        bravo = await CotClient.connect(
            *two.address("cot_tls"), tls=client_tls(cluster.certs, "BRAVO")
        )
        clients += [alpha, bravo]
        await alpha.send(pli("alpha-uid", "ALPHA"))
        await bravo.wait_uid("alpha-uid", timeout=10)

        proxy.cut()
        cut_at = time.monotonic()
        await alpha.send(marker("during-pg-outage", 35.3, 139.3))
        await bravo.wait_uid("during-pg-outage", timeout=5)  # across nodes, no database
        status, answer = await asyncio.to_thread(post_json, two, "/api/v1/requests", ops, body)
        assert status == 503, (status, answer)
        await asyncio.sleep(max(0.0, OUTAGE_S - (time.monotonic() - cut_at)))
        proxy.restore()

        await alpha.send(marker("after-pg-outage", 35.4, 139.4))
        await bravo.wait_uid("after-pg-outage", timeout=10)
        counts = await wait_history(cluster_db, {"during-pg-outage", "after-pg-outage"}, 30)
        assert counts.get("during-pg-outage") == 1, counts
        assert counts.get("after-pg-outage") == 1, counts
        deadline = time.monotonic() + 15
        while True:
            shown = cli("cluster", "status", "--json", *cluster.store_args(), check=False)
            owner = (
                json.loads(shown.stdout).get("deadline_owner") if shown.returncode == 0 else None
            )
            if owner:
                break
            assert time.monotonic() < deadline, f"no deadline owner after the outage: {shown}"
            await asyncio.sleep(0.5)
        status, answer = await asyncio.to_thread(post_json, one, "/api/v1/requests", ops, body)
        assert status == 201, (status, answer)
    finally:
        for client in clients:
            await client.close()
        cluster.stop_all()
        proxy.close()
        await _delete_streams(nats_url, prefix)

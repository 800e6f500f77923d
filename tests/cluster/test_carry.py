"""What a node carries (issue 13): live events on core NATS subscriptions to its own
subjects, a replay of the stream for what a cut connection missed, and a node narrowed
with ``--cluster-serves`` that never receives what its principals may not see.

Real processes, real NATS and PostgreSQL; the cut is a TCP proxy between one node and
NATS (tests/reliability/tcpproxy.py).
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any
from urllib.parse import urlsplit

from tests.cluster.support import Cluster
from tests.reliability.tcpproxy import TcpProxy
from tests.support.cot import CotClient, client_tls, marker, pli
from tests.support.server import ServerProcess


def _this(node: ServerProcess, token: str) -> dict[str, Any]:
    shown: dict[str, Any] = node.get_json("/api/v1/cluster", token)["this"]
    return shown


async def test_a_node_cut_off_from_nats_replays_what_it_missed_and_applies_it_once(
    cluster: Cluster,
) -> None:
    for name in ("ALPHA", "BRAVO"):
        cluster.add_user(name, "USA", "SECRET")
    cluster.add_user("ROOT", "USA", "SECRET", roles=("admin",))
    nats = urlsplit(cluster.nats_url)
    proxy = TcpProxy((nats.hostname or "127.0.0.1", nats.port or 4222)).start()
    one = cluster.start_node("n1", http=False)
    via = f"nats://{proxy.address[0]}:{proxy.address[1]}"
    two = cluster.start_node("n2", "--cluster", via)  # the last --cluster wins
    token = cluster.token("ROOT")
    alpha = await CotClient.connect(*one.address("cot_tls"), tls=client_tls(cluster.certs, "ALPHA"))
    bravo = await CotClient.connect(*two.address("cot_tls"), tls=client_tls(cluster.certs, "BRAVO"))
    try:
        await alpha.send(pli("alpha-uid", "ALPHA"))
        await bravo.wait_uid("alpha-uid")  # live
        proxy.cut()  # n2 loses NATS; n1 goes on publishing and JetStream stores it
        await asyncio.sleep(0.5)
        for i in range(5):
            await alpha.send(marker(f"while-cut-{i}", 35.0 + i / 100, 139.0))
        await asyncio.sleep(1.5)
        assert not {f"while-cut-{i}" for i in range(5)} & bravo.uids()
        proxy.restore()  # n2 reconnects and replays from just before its last live event
        for i in range(5):
            await bravo.wait_uid(f"while-cut-{i}", timeout=15)
        await alpha.send(marker("after-cut", 35.5, 139.0))
        await bravo.wait_uid("after-cut", timeout=10)
        shown = _this(two, token)
    finally:
        await alpha.close()
        await bravo.close()
        proxy.close()
    assert shown["repairs"] >= 1, shown
    # The replay began before the cut: alpha-uid came again and was dropped as a copy.
    assert shown["copies"] >= 1, shown
    received = [e.uid for e in bravo.events if e.uid != "bravo-uid"]
    for uid in ("alpha-uid", *(f"while-cut-{i}" for i in range(5)), "after-cut"):
        assert received.count(uid) == 1, (uid, received)


async def test_a_node_serving_jpn_up_to_secret_never_receives_noforn_or_top_secret(
    cluster: Cluster,
) -> None:
    cluster.add_user("ALPHA", "USA", "TOP SECRET")
    cluster.add_user("JIRO", "JPN", "SECRET")
    cluster.add_user("JADMIN", "JPN", "SECRET", roles=("admin",))
    cluster.add_user("BAKER", "USA", "SECRET")
    one = cluster.start_node("n1", http=False)
    two = cluster.start_node("n2", "--cluster-serves", "JPN:SECRET")
    token = cluster.token("JADMIN")
    shown = _this(two, token)
    assert shown["carries"] == "JPN up to SECRET", shown
    assert "history" not in shown["roles"]  # history needs the whole stream
    alpha = await CotClient.connect(*one.address("cot_tls"), tls=client_tls(cluster.certs, "ALPHA"))
    jiro = await CotClient.connect(*two.address("cot_tls"), tls=client_tls(cluster.certs, "JIRO"))
    try:
        await alpha.send(marker("start", 35.0, 139.0))
        await jiro.wait_uid("start", timeout=10)
        before = _this(two, token)["received"]
        await alpha.send(marker("noforn", 35.1, 139.0, marking=("SECRET", "NOFORN", None)))
        await alpha.send(marker("top-secret", 35.2, 139.0, marking=("TOP SECRET", None, "USA,JPN")))
        await alpha.send(marker("rel-usa", 35.3, 139.0, marking=("SECRET", None, "USA,GBR")))
        await alpha.send(marker("rel-jpn", 35.4, 139.0, marking=("SECRET", None, "USA,JPN")))
        await alpha.send(marker("end", 35.5, 139.0))
        await jiro.wait_uid("end", timeout=10)  # one publisher: its order holds
        after = _this(two, token)["received"]
        # A USA principal is not served by a node narrowed to JPN: refused at connect.
        baker = await CotClient.connect(
            *two.address("cot_tls"), tls=client_tls(cluster.certs, "BAKER")
        )
        try:
            await asyncio.wait_for(baker.closed.wait(), 10)
        except (TimeoutError, ssl.SSLError):
            raise AssertionError("the node served a principal it does not carry for") from None
        finally:
            await baker.close()
    finally:
        await alpha.close()
        await jiro.close()
    # On the wire: rel-usa (REL TO is a class of its own; the reader is decided here),
    # rel-jpn and end; never the NOFORN item nor the TOP SECRET one.
    assert after - before == 3, (before, after)
    assert {"rel-jpn", "end"} <= jiro.uids()
    assert not {"noforn", "top-secret", "rel-usa"} & jiro.uids()

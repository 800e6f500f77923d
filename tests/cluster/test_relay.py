"""Two and three nodes, separate processes, one picture (issue 13).

Clients on different nodes see each other live and in catch-up; a direct
message crosses nodes to its addressee only; a NOFORN item reaches only the
clients allowed, on every node; history is written once per event.
"""

from __future__ import annotations

import asyncio
import json
import re
import urllib.error
import urllib.request

import pytest
from sqlalchemy import create_engine, text

from tests.cluster.support import Cluster
from tests.server.test_audience_exits import addressed_marker
from tests.support.cot import direct_chat, marker, pli
from tests.support.pytak_client import PytakClient
from tests.support.server import cli

PRIVATE = {"GeoChat.alpha-uid.charlie-uid.m1", "private-marker"}


def history_counts(database_url: str) -> dict[str, int]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT uid, count(*) FROM events GROUP BY uid")).all()
    finally:
        engine.dispose()
    return {str(uid): int(n) for uid, n in rows}


async def wait_history(database_url: str, uids: set[str], timeout: float = 10.0) -> dict[str, int]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        counts = await asyncio.to_thread(history_counts, database_url)
        if uids <= counts.keys() or asyncio.get_running_loop().time() > deadline:
            return counts
        await asyncio.sleep(0.2)


async def test_clients_on_two_nodes_see_each_other_live_and_in_catch_up(cluster: Cluster) -> None:
    for callsign in ("ALPHA", "BRAVO", "LATE"):
        cluster.add_user(callsign, "USA", "SECRET")
    cluster.add_user("ROOT", "USA", "SECRET", roles=("admin",))
    one = cluster.start_node("n1")
    two = cluster.start_node("n2")
    alpha = await PytakClient.tls(*one.address("cot_tls"), cluster.certs, "ALPHA")
    bravo = await PytakClient.tls(*two.address("cot_tls"), cluster.certs, "BRAVO")
    try:
        await alpha.send(pli("alpha-uid", "ALPHA"))
        await bravo.send(pli("bravo-uid", "BRAVO"))
        assert (await bravo.wait_for_uid("alpha-uid")).callsign == "ALPHA"
        assert (await alpha.wait_for_uid("bravo-uid")).callsign == "BRAVO"
        # A client that connects later gets the whole picture on either node.
        for node in (one, two):
            late = await PytakClient.tls(*node.address("cot_tls"), cluster.certs, "LATE")
            try:
                await late.wait_for_uid("alpha-uid")
                await late.wait_for_uid("bravo-uid")
            finally:
                await late.close()
        # ALPHA leaves: its disconnect notice reaches the clients of the other node too.
        await alpha.close()
        deadline = asyncio.get_running_loop().time() + 10
        while not any(e.type == "t-x-d-d" and "alpha-uid" in e.link_uids for e in bravo.events):
            assert asyncio.get_running_loop().time() < deadline, "no disconnect notice on n2"
            await asyncio.sleep(0.05)
    finally:
        await alpha.close()
        await bravo.close()
    # History: each event once, not once per node.
    counts = await wait_history(cluster.database_url, {"alpha-uid", "bravo-uid"})
    assert counts.get("alpha-uid") == 1 and counts.get("bravo-uid") == 1, counts
    # Operations: the nodes, from any node (admins only), the CLI and /metrics.
    token = cluster.token("ROOT")
    # A lease can be between holders for a moment (docs/scaling.md: ~2 s when a
    # holder's check is slow on a loaded machine), and owners come from heartbeats.
    deadline = asyncio.get_running_loop().time() + 10
    while True:
        shown = two.get_json("/api/v1/cluster", token)
        owners = (shown["deadline_owner"], shown["history_owner"])
        if all(owner in {"n1", "n2"} for owner in owners):
            break
        assert asyncio.get_running_loop().time() < deadline, shown
        await asyncio.sleep(0.5)
    assert {n["node"] for n in shown["nodes"] if n["alive"]} == {"n1", "n2"}
    assert shown["node"] == "n2"
    with pytest.raises(urllib.error.HTTPError) as refused:
        two.get_json("/api/v1/cluster", None)
    assert refused.value.code == 401
    status = json.loads(cli("cluster", "status", "--json", *cluster.store_args()).stdout)
    assert {n["node"] for n in status["nodes"]} == {"n1", "n2"}
    request = urllib.request.Request(f"{two.url}/metrics")
    request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=10) as resp:
        metrics = resp.read().decode()
    injected = re.search(r'^allied_c2_cluster_injected_total\{node="n2"\} (\S+)$', metrics, re.M)
    assert injected is not None and float(injected.group(1)) >= 1, metrics[-2000:]


async def test_a_node_started_later_catches_up_and_a_restart_rewrites_no_history(
    cluster: Cluster,
) -> None:
    for callsign in ("ALPHA", "LATE"):
        cluster.add_user(callsign, "USA", "SECRET")
    one = cluster.start_node("n1")
    alpha = await PytakClient.tls(*one.address("cot_tls"), cluster.certs, "ALPHA")
    try:
        await alpha.send(pli("alpha-uid", "ALPHA"))
        await alpha.send(marker("early-marker", 35.1, 139.1))
        await wait_history(cluster.database_url, {"alpha-uid", "early-marker"})
    finally:
        await alpha.close()
    two = cluster.start_node("n2")
    late = await PytakClient.tls(*two.address("cot_tls"), cluster.certs, "LATE")
    try:
        await late.wait_for_uid("early-marker")
        await late.wait_for_uid("alpha-uid")
    finally:
        await late.close()
    two.stop()
    one.stop()
    cluster.start_node("n1")
    await asyncio.sleep(1.5)  # long enough for a history writer to store anything again
    counts = history_counts(cluster.database_url)
    assert counts.get("alpha-uid") == 1 and counts.get("early-marker") == 1, counts


async def test_three_nodes_direct_message_and_noforn_reach_only_their_audience(
    cluster: Cluster,
) -> None:
    for callsign in ("ALPHA", "CHARLIE", "THIRD", "LATE"):
        cluster.add_user(callsign, "USA", "SECRET")
    cluster.add_user("KITSUNE", "JPN", "SECRET")
    nodes = [cluster.start_node(f"n{i}") for i in (1, 2, 3)]
    tls = [node.address("cot_tls") for node in nodes]
    alpha = await PytakClient.tls(*tls[0], cluster.certs, "ALPHA")
    charlie = await PytakClient.tls(*tls[1], cluster.certs, "CHARLIE")
    third = await PytakClient.tls(*tls[2], cluster.certs, "THIRD")
    kitsune = await PytakClient.tls(*tls[2], cluster.certs, "KITSUNE")
    kitsune_one = await PytakClient.tls(*tls[0], cluster.certs, "KITSUNE")
    anonymous = await PytakClient.tcp(*nodes[1].address("cot_tcp"))
    clients = [alpha, charlie, third, kitsune, kitsune_one, anonymous]
    try:
        for client, uid, callsign in (
            (alpha, "alpha-uid", "ALPHA"),
            (charlie, "charlie-uid", "CHARLIE"),
            (third, "third-uid", "THIRD"),
            (kitsune, "kitsune-uid", "KITSUNE"),
        ):
            await client.send(pli(uid, callsign))
        for client in (alpha, charlie, third, kitsune):
            await client.wait_for_uid("kitsune-uid" if client is not kitsune else "alpha-uid")
        # A direct message from node 1 to CHARLIE on node 2, nobody else on any node.
        await alpha.send(direct_chat("alpha-uid", "ALPHA", "charlie-uid", "CHARLIE", "for you"))
        await alpha.send(addressed_marker("private-marker", "CHARLIE"))
        # A NOFORN item from node 1: the US clients on every node, no JPN one, no anonymous.
        await alpha.send(marker("noforn-1", 35.0, 139.0, marking=("SECRET", "NOFORN", None)))
        await alpha.send(marker("public-1", 35.2, 139.2))  # after them, to every client
        await charlie.wait_for_uid("private-marker")
        await charlie.wait_for_uid("GeoChat.alpha-uid.charlie-uid.m1")
        for client in (charlie, third):
            await client.wait_for_uid("noforn-1")
        for client in (third, kitsune, kitsune_one, anonymous):
            await client.wait_for_uid("public-1")
        await asyncio.sleep(0.5)
        for client in (third, kitsune, kitsune_one, anonymous):
            assert PRIVATE.isdisjoint(e.uid for e in client.events)
        for client in (kitsune, kitsune_one, anonymous):
            assert "noforn-1" not in {e.uid for e in client.events}
        # Catch-up on each node: the same rules.
        for node_tls in tls:
            late = await PytakClient.tls(*node_tls, cluster.certs, "LATE")
            late_jpn = await PytakClient.tls(*node_tls, cluster.certs, "KITSUNE")
            try:
                await late.wait_for_uid("noforn-1")
                await late_jpn.wait_for_uid("public-1")
                await late.wait_for_uid("public-1")
                await asyncio.sleep(0.3)
                assert PRIVATE.isdisjoint(e.uid for e in late.events)
                assert not ({"noforn-1"} | PRIVATE) & {e.uid for e in late_jpn.events}
            finally:
                await late.close()
                await late_jpn.close()
    finally:
        for client in clients:
            await client.close()

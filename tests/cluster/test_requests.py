"""Requests and readiness on several nodes: PostgreSQL is the truth (issue 13).

Real PostgreSQL (and real NATS JetStream where the nodes announce changes).
The nodes here are runtimes in this test process so that a scaled clock can
make a day's deadline pass in a second; tests/cluster/test_failover.py kills
real node processes.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from allied_c2.alliance.clock import Clock, ManualClock
from allied_c2.app import Runtime, build_runtime
from allied_c2.cluster.settings import ClusterSettings
from allied_c2.config import Config
from allied_c2.security.principals import Principal
from allied_c2.server.decisions import DecisionError, ScaledClock
from allied_c2.server.request_views import marker_uid
from tests.alliance_server.conftest import SCENARIOS, START
from tests.alliance_server.test_requests_api import REL_JPN, logistics
from tests.cluster.conftest import _delete_streams

OPS = Principal(
    "MARINE-OPS", "USA", "SECRET", roles=frozenset({"operator"}), organisation="3mardiv"
)
CG = Principal("MEF-CG", "USA", "SECRET", roles=frozenset({"commander"}), organisation="iiimef")
GCC = Principal("GCC-OPS", "JPN", "SECRET", roles=frozenset({"operator"}), organisation="gcc")


def node(
    root: Path, name: str, database_url: str, clock: Clock, cluster: ClusterSettings | None
) -> Runtime:
    config = Config(
        data_dir=root / name,
        cot_tcp=None,
        cot_tls=None,
        http=None,
        database_url=database_url,
        scenario=SCENARIOS / "alliance-2024.yaml",
        store_flush_interval=0.05,
    )
    return build_runtime(config, clock=clock, cluster=cluster)


async def close(runtime: Runtime) -> None:
    if runtime.cluster is not None:
        await runtime.cluster.stop()
    if runtime.decisions is not None:
        runtime.decisions.stop()
    await asyncio.to_thread(runtime.writer.close)
    runtime.audit.close()


def audited(database_url: str, subject: str) -> list[str]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT action FROM audit_log WHERE subject = :s ORDER BY seq"), {"s": subject}
            ).all()
    finally:
        engine.dispose()
    return [str(row[0]) for row in rows]


async def wait_for(predicate: object, timeout: float) -> float:
    """Seconds until ``predicate()`` held (fails after ``timeout``)."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    while not predicate():  # type: ignore[operator]
        if loop.time() - start > timeout:
            raise AssertionError(f"not within {timeout} s")
        await asyncio.sleep(0.01)
    return loop.time() - start


async def test_two_nodes_acting_on_one_request_at_once_one_wins_the_other_gets_a_conflict(
    cluster_db: str, tmp_path: Path
) -> None:
    clock = ManualClock(START)
    one = node(tmp_path, "n1", cluster_db, clock, None)
    two = node(tmp_path, "n2", cluster_db, clock, None)
    assert one.decisions is not None and two.decisions is not None
    try:
        created = one.decisions.submit(OPS, logistics(REL_JPN))
        rid = created.record.id
        second = two.decisions.submit(OPS, logistics(REL_JPN, subject="Water"))
        assert second.record.id != rid  # numbers from one PostgreSQL sequence
        two.decisions.load()  # both nodes now hold the request at the same version
        assert two.decisions.requests[rid].record.version == created.record.version
        won = one.decisions.act(CG, rid, "approve", "ACSA order")
        assert won.machine.state.value == "approved"
        with pytest.raises(DecisionError) as conflict:
            two.decisions.act(CG, rid, "deny", "no fuel")  # decided on what it had read
        assert conflict.value.status == 409
        assert "approved" in conflict.value.reason, conflict.value.reason
        # The loser now holds what is stored; the store has the winner's decision only.
        assert two.decisions.requests[rid].machine.state.value == "approved"
        stored = one.decisions.store.get(rid)
        assert stored is not None and stored.state == "approved"
        assert stored.version == won.record.version
    finally:
        await close(one)
        await close(two)
    one.audit.close()
    actions = audited(cluster_db, rid)
    assert actions.count("request.approve") == 1 and "request.deny" not in actions, actions


async def test_a_stale_save_is_retried_on_what_is_stored_and_never_lost(
    cluster_db: str, tmp_path: Path
) -> None:
    clock = ManualClock(START)
    one = node(tmp_path, "n1", cluster_db, clock, None)
    two = node(tmp_path, "n2", cluster_db, clock, None)
    assert one.decisions is not None and two.decisions is not None
    try:
        rid = one.decisions.submit(OPS, logistics(REL_JPN)).record.id
        two.decisions.load()
        one.decisions.act(OPS, rid, "comment", "first note")
        # Node two's copy is stale; its comment is applied on the stored state, after
        # node one's, not over it.
        two.decisions.act(OPS, rid, "comment", "second note")
        stored = one.decisions.store.get(rid)
        assert stored is not None
        reasons = [step["reason"] for step in stored.machine["trail"]]
        assert "first note" in reasons and "second note" in reasons, reasons
    finally:
        await close(one)
        await close(two)


@pytest.fixture
async def prefix(nats_url: str) -> AsyncIterator[str]:
    name = f"t{uuid.uuid4().hex[:10]}"
    yield name
    await _delete_streams(nats_url, name)


async def test_changes_reach_the_other_node_within_a_second_and_escalations_fire_once(
    cluster_db: str, nats_url: str, prefix: str, tmp_path: Path
) -> None:
    # A day of deadlines passes in about a second of real time.
    clock = ScaledClock(datetime.now(UTC), rate=24 * 3600 / 1.0)
    nodes: list[Runtime] = []
    for name in ("n1", "n2"):
        settings = ClusterSettings(servers=(nats_url,), node_id=name, prefix=prefix)
        runtime = node(tmp_path, name, cluster_db, clock, settings)
        assert runtime.cluster is not None and runtime.decisions is not None
        await runtime.cluster.start()
        await runtime.decisions.start()
        nodes.append(runtime)
    one, two = (n.decisions for n in nodes)
    assert one is not None and two is not None
    try:
        await wait_for(lambda: any(n.cluster and n.cluster.state.deadline_owner for n in nodes), 5)
        owners = [
            n for n in nodes if n.cluster and n.cluster.state and n.cluster.state.deadline_owner
        ]
        assert len(owners) == 1  # exactly one node runs deadlines
        body = {**logistics(REL_JPN), "urgency": "urgent", "needed_by": None}
        rid = one.submit(OPS, body).record.id
        seen = await wait_for(lambda: rid in two.requests, 1.0)
        # Its marker (made by node one's server, not sent by a client) is on node two's
        # picture too, with node one's marking: originator and all.
        marker = marker_uid(rid)
        await wait_for(lambda: nodes[1].hub.picture.get(marker) is not None, 1.0)
        there = nodes[1].hub.picture.get(marker)
        assert there is not None and there.marking == one.requests[rid].marking
        assert there.marking.originator == "USA"
        one.act(OPS, rid, "comment", "anyone there?")
        version = one.requests[rid].record.version
        await wait_for(lambda: two.requests[rid].record.version >= version, 1.0)
        # Readiness posted on node two is on node one within a second too.
        assert nodes[1].readiness is not None and nodes[0].readiness is not None
        posted = nodes[1].readiness.post(
            GCC, {"unit": "1abn", "p": 1, "s": 2, "r": 2, "t": 1, "marking": REL_JPN}
        )
        await wait_for(
            lambda: any(e.record.id == posted.record.id for e in nodes[0].readiness.entries), 1.0
        )
        # Deadlines pass: each escalation is taken once, by the owner, and both nodes show it.
        await wait_for(
            lambda: sum(s.action == "escalate" for s in one.requests[rid].machine.trail) >= 2, 10
        )
        await asyncio.sleep(0.5)
    finally:
        for runtime in nodes:
            await close(runtime)
    stored = one.store.get(rid)
    assert stored is not None
    trail = stored.machine["trail"]
    steps = [s for s in trail if s["action"] == "escalate"]
    assert [s["seq"] for s in trail] == list(range(1, len(trail) + 1))  # no step twice
    assert audited(cluster_db, rid).count("request.escalate") == len(steps)
    assert seen < 1.0

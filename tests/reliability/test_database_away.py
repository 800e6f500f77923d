"""PostgreSQL goes away for 30 s: live traffic goes on, history is buffered and written back.

The server reaches the session's PostgreSQL database through a proxy that the test
cuts (the shared server itself is never stopped). During the outage: the relay
keeps delivering, the writer reports the database away and buffers (bounded by
``store_outage_buffer_bytes``, 64 MiB by default), and decision requests and
readiness reports are refused with a 503 that says nothing was stored. After it:
the server reconnects by itself, writes the backlog, and every event a witness saw
relayed is in the history exactly once; nothing refused was stored after all.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.reliability.support import Load, metrics, record, recorder, seqs_in
from tests.reliability.tcpproxy import TcpProxy
from tests.support.server import ROOT, ServerProcess, cli

pytestmark = pytest.mark.postgres

OUTAGE_S = 30.0
FIRST_SENDER = 500  # uids of their own in the session's shared database


def post(server: ServerProcess, path: str, token: str, body: dict[str, Any]) -> tuple[int, Any]:
    request = urllib.request.Request(
        f"{server.url}{path}",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        body = json.loads(exc.read() or b"{}")
        return exc.code, {**body, "retry_after": exc.headers.get("Retry-After")}


def request_body(subject: str) -> dict[str, Any]:
    return {
        "kind": "logistics_support",
        "originator": "3mardiv",
        "subject": subject,
        "marking": "SECRET//REL TO USA, JPN",
        "needed_by": "2027-06-01T00:00:00Z",
        "urgency": "priority",
    }


def readiness_body() -> dict[str, Any]:
    return {"unit": "3mardiv", "p": 2, "s": 2, "r": 2, "t": 2}


def stored_keys(url: str) -> list[tuple[int, int]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT xml FROM events")).fetchall()
    finally:
        engine.dispose()
    return [k for (xml,) in rows for k in seqs_in(bytes(xml)) if k[0] >= FIRST_SENDER]


async def wait_for(predicate: Any, timeout: float, what: str) -> float:
    started = time.monotonic()
    while not await asyncio.to_thread(predicate):
        if time.monotonic() - started > timeout:
            raise AssertionError(f"{what} not within {timeout} s")
        await asyncio.sleep(0.25)
    return time.monotonic() - started


@pytest.mark.timeout(300)  # a 30 s outage, a PostgreSQL server start, the recovery
async def test_postgres_away_for_30_s(tmp_path: Path, postgres_url: str) -> None:
    direct = make_url(postgres_url)
    proxy = TcpProxy((direct.host or "127.0.0.1", direct.port or 5432)).start()
    via_proxy = direct.set(host=proxy.address[0], port=proxy.address[1])
    url = via_proxy.render_as_string(hide_password=False)
    data = tmp_path / "data"
    db = ("--data-dir", str(data), "--database-url", url)
    cli("user", "add", *db, "--callsign", "MARINE-OPS", "--nation", "USA", "--clearance",
        "SECRET", "--role", "operator", "--org", "3mardiv")  # fmt: skip
    token = cli("token", "create", "MARINE-OPS", *db).stdout.split()[0]
    scenario = str(ROOT / "scenarios" / "alliance-jfhq.yaml")
    server = ServerProcess(
        data, "--database-url", url, "--scenario", scenario, "--metrics", "127.0.0.1:0"
    ).start(timeout=60)
    figures: dict[str, Any] = {"outage_s": OUTAGE_S}
    gauge = "alliedc2_history_database_available"
    try:
        host, port = server.address("cot_tcp")
        witness = await recorder(host, port)
        load = await Load(host, port, senders=10, rate=20.0, first_sender=FIRST_SENDER).start()
        await asyncio.sleep(3.0)
        assert post(server, "/api/v1/requests", token, request_body("before"))[0] == 201
        proxy.cut()
        cut_at = time.monotonic()
        seen_at_cut = len(witness.seen)
        figures["detected_s"] = round(
            await wait_for(lambda: metrics(server.address("metrics"))[gauge] == 0, 20, "away"), 2
        )
        status, body = post(server, "/api/v1/requests", token, request_body("during outage"))
        figures["requests_during"] = {"status": status, **body}
        status, body = post(server, "/api/v1/readiness", token, readiness_body())
        figures["readiness_during"] = {"status": status, **body}
        peak_bytes = peak_backlog = 0.0
        while time.monotonic() - cut_at < OUTAGE_S:
            sample = await asyncio.to_thread(metrics, server.address("metrics"))
            peak_bytes = max(peak_bytes, sample["alliedc2_history_buffered_bytes"])
            peak_backlog = max(peak_backlog, sample["alliedc2_history_backlog"])
            await asyncio.sleep(1.0)
        relayed_during = len(witness.seen) - seen_at_cut
        sent_during = sum(1 for t in load.sent.values() if t >= cut_at)
        proxy.restore()
        restored_at = time.monotonic()

        def drained() -> bool:
            sample = metrics(server.address("metrics"))
            return sample[gauge] == 1 and sample["alliedc2_history_backlog"] < 50

        figures["recovered_s"] = round(await wait_for(drained, 60, "backlog written"), 2)
        await load.stop()
        await asyncio.sleep(1.5)  # the last events: relayed and committed
        after = metrics(server.address("metrics"))
        status, listed = 0, server.get_json("/api/v1/requests", token)
        status, _ = post(server, "/api/v1/requests", token, request_body("after"))
        witness.close()
    finally:
        server.stop()
        proxy.close()
    keys = stored_keys(postgres_url)
    accepted = set(witness.seen)
    subjects = [r["subject"] for r in listed["requests"]]
    figures.update(
        sent_during_outage=sent_during,
        relayed_during_outage=relayed_during,
        peak_buffered_mb=round(peak_bytes / 2**20, 2),
        peak_backlog=int(peak_backlog),
        recovery_after_restore_s=round(time.monotonic() - restored_at, 1),
        accepted=len(accepted),
        accepted_not_stored=len(accepted - set(keys)),
        duplicates=len(keys) - len(set(keys)),
        dropped=after.get("alliedc2_history_dropped_total"),
        outages=after.get("alliedc2_history_outages_total"),
        request_after_outage=status,
        proxy_refused_connections=proxy.refused,
    )
    record("database_away", figures)
    assert relayed_during >= 0.9 * sent_during, "live traffic stopped with the database"
    assert figures["requests_during"]["status"] == 503
    assert figures["readiness_during"]["status"] == 503
    assert figures["requests_during"]["retry_after"] is not None
    assert "database is unavailable: nothing was stored" in figures["requests_during"]["detail"]
    assert "database is unavailable" in figures["readiness_during"]["detail"]
    assert "during outage" not in subjects, "a refused request was stored after all"
    assert "before" in subjects and status == 201
    assert figures["accepted_not_stored"] == 0
    assert figures["duplicates"] == 0
    assert figures["dropped"] == 0 and figures["outages"] >= 1

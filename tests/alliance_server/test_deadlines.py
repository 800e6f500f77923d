"""Deadlines on the server clock: escalation, the loop timer, and reload after a restart."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from allied_c2.alliance.clock import ManualClock
from allied_c2.server.decisions import ScaledClock
from tests.alliance_server.conftest import START, close_server, open_server
from tests.alliance_server.test_requests_api import REL_JPN, logistics, submit


async def test_a_late_decider_loses_the_request_to_its_superior(tmp_path: Path) -> None:
    server = await open_server(tmp_path / "var")
    try:
        created = await submit(server, REL_JPN)
        rid, deadline = created["id"], created["deadline"]
        assert deadline == "2026-03-06T05:00:00+00:00"  # 24 duty hours in Okinawa/Tokyo
        decisions = server.runtime.decisions
        assert decisions is not None
        clock = server.clock
        assert isinstance(clock, ManualClock)
        clock.set(START + timedelta(hours=51))  # before the deadline: nothing happens
        assert decisions.tick() == 0
        clock.set(START + timedelta(hours=53))
        assert decisions.tick() == 1
        now = (await server.get(f"/api/v1/requests/{rid}", "MEF-CG")).json()
        assert now["holders"] == ["marforpac"] and now["state"] == "in_review"
        step = now["history"][-1]
        assert (step["actor"], step["action"], step["at"]) == ("system", "escalate", deadline)
        assert step["reason"] == "iiimef did not act within 24 duty hours"
        assert step["detail"]["from"] == "iiimef" and step["detail"]["to"] == "marforpac"
        # The bypassed commander can no longer decide: 403, it does not hold the request.
        late = await server.post(f"/api/v1/requests/{rid}/actions", "MEF-CG", {"action": "approve"})
        assert late.status_code == 403
        assert late.json()["detail"] == f"iiimef does not hold {rid} (held by marforpac)"
        audited = await server.audit_entries(
            lambda e: e.subject == rid and e.action == "request.escalate", 1
        )
        assert [(e.actor, e.detail["organisation"]) for e in audited] == [("system", "system")]
    finally:
        await close_server(server)


async def test_the_loop_timer_escalates_on_an_accelerated_clock(tmp_path: Path) -> None:
    # 24 wall-clock hours (urgent requests ignore duty hours) pass in 0.2 real seconds.
    clock = ScaledClock(START, rate=24 * 3600 / 0.2)
    server = await open_server(tmp_path / "var", clock=clock)
    try:
        body = {**logistics(REL_JPN), "urgency": "urgent", "needed_by": None}
        response = await server.post("/api/v1/requests", "MARINE-OPS", body)
        rid = response.json()["id"]
        for _ in range(100):
            await asyncio.sleep(0.05)
            state = (await server.get(f"/api/v1/requests/{rid}", "MEF-CG")).json()
            if any(s["action"] == "escalate" for s in state["history"]):
                break
        escalations = [s for s in state["history"] if s["action"] == "escalate"]
        assert escalations, state["history"]
        first = escalations[0]
        assert first["actor"] == "system" and first["detail"]["to"] == "marforpac"
        assert first["reason"] == "iiimef did not act within 24 hours (urgent)"
    finally:
        await close_server(server)


async def test_a_restart_reloads_requests_and_rearms_their_deadlines(tmp_path: Path) -> None:
    data = tmp_path / "var"
    first = await open_server(data)
    try:
        open_one = (await submit(first, REL_JPN))["id"]
        decided = (await submit(first, REL_JPN))["id"]
        await first.post(
            f"/api/v1/requests/{decided}/actions",
            "MEF-CG",
            {"action": "deny", "reason": "duplicate of " + open_one},
        )
        before = (await first.get(f"/api/v1/requests/{open_one}", "MEF-CG")).json()
    finally:
        await close_server(first)

    # The server was down past the open request's deadline.
    second = await open_server(data, clock=ManualClock(START + timedelta(days=3)))
    try:
        after = (await second.get(f"/api/v1/requests/{open_one}", "MEF-CG")).json()
        assert after["history"][: len(before["history"])] == before["history"]
        assert after["holders"] == ["marforpac"]  # escalated at start, stamped with the deadline
        assert after["history"][len(before["history"])]["at"] == before["deadline"]
        gone = (await second.get(f"/api/v1/requests/{decided}", "MEF-CG")).json()
        assert gone["state"] == "denied"
        again = await second.post(
            f"/api/v1/requests/{decided}/actions", "MEF-CG", {"action": "approve"}
        )
        assert again.status_code == 409
        assert (await second.get(f"/api/v1/requests/{open_one}", "JS-CMDR")).status_code == 200
        third = (
            await second.post(
                "/api/v1/requests", "MARINE-OPS", {**logistics(REL_JPN), "needed_by": None}
            )
        ).json()
        assert third["id"] == "REQ-0003"
    finally:
        await close_server(second)

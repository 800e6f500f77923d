"""Decision requests over the real HTTP app: who may see, submit and act, and the audit trail."""

from __future__ import annotations

from typing import Any

from allied_c2.security.principals import Principal
from allied_c2.web.stream import StreamListener
from tests.alliance_server.conftest import Server

NOFORN = "SECRET//NOFORN"
REL_JPN = "SECRET//REL TO USA, JPN"


def logistics(
    marking: str, subject: str = "JP-8 resupply for 12th Marine Littoral Regiment"
) -> dict[str, Any]:
    return {
        "kind": "logistics_support",
        "originator": "3mardiv",
        "subject": subject,
        "marking": marking,
        "needed_by": "2026-03-06T00:00:00Z",
        "urgency": "priority",
    }


async def submit(server: Server, marking: str, who: str = "MARINE-OPS") -> dict[str, Any]:
    response = await server.post("/api/v1/requests", who, logistics(marking))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_noforn_request_is_invisible_to_jpn_and_approved_by_the_us_holder(
    server: Server,
) -> None:
    created = await submit(server, NOFORN)
    rid = created["id"]
    assert created["state"] == "in_review"
    assert created["holders"] == ["iiimef"] and created["route"]["decider"] == "iiimef"
    assert created["marking"] == {
        "banner": NOFORN,
        "portion": "(S//NF)",
        "class": "mk-s",
        "originator": "USA",
    }
    assert created["allowed_actions"] == ["comment", "withdraw"]  # the originator's operator

    # JPN: not readable, not listed, and acting on it looks exactly like a missing request.
    jpn = await server.get(f"/api/v1/requests/{rid}", "JS-CMDR")
    assert jpn.status_code == 404 and jpn.json() == {"detail": f"no request {rid}"}
    missing = await server.get("/api/v1/requests/REQ-9999", "JS-CMDR")
    assert missing.json() == {"detail": "no request REQ-9999"}
    listed = (await server.get("/api/v1/requests", "JS-CMDR")).json()
    assert listed == {"banner": "UNCLASSIFIED", "requests": []}
    acted = await server.post(f"/api/v1/requests/{rid}/actions", "JS-CMDR", {"action": "approve"})
    assert acted.status_code == 404
    assert (await server.get(f"/api/v1/requests/{rid}")).status_code == 404  # anonymous

    us = (await server.get("/api/v1/requests", "MEF-CG")).json()
    assert us["banner"] == NOFORN and [r["id"] for r in us["requests"]] == [rid]
    assert us["requests"][0]["allowed_actions"] == [
        "approve",
        "deny",
        "escalate",
        "return",
        "comment",
    ]

    approved = await server.post(
        f"/api/v1/requests/{rid}/actions", "MEF-CG", {"action": "approve", "reason": "ACSA order"}
    )
    assert approved.status_code == 200, approved.text
    body = approved.json()
    assert body["state"] == "approved" and body["holders"] == [] and body["allowed_actions"] == []
    last = body["history"][-1]
    assert (last["actor"], last["action"], last["from"], last["to"]) == (
        "iiimef",
        "approve",
        "in_review",
        "approved",
    )


async def test_jpn_cannot_act_for_a_us_organisation(server: Server) -> None:
    rid = (await submit(server, REL_JPN))["id"]
    seen = await server.get(f"/api/v1/requests/{rid}", "JS-CMDR")
    assert seen.status_code == 200 and seen.json()["allowed_actions"] == []
    refused = await server.post(
        f"/api/v1/requests/{rid}/actions", "JS-CMDR", {"action": "approve", "reason": ""}
    )
    assert refused.status_code == 403
    assert refused.json()["detail"] == f"js does not hold {rid} (held by iiimef)"
    # The holder's operator lacks the commander role needed to decide.
    staff = await server.post(f"/api/v1/requests/{rid}/actions", "MEF-STAFF", {"action": "approve"})
    assert staff.status_code == 403 and staff.json()["detail"] == "approve needs the commander role"
    assert (await server.get(f"/api/v1/requests/{rid}", "MEF-CG")).json()["state"] == "in_review"


async def test_a_denied_request_stays_denied(server: Server) -> None:
    rid = (await submit(server, REL_JPN))["id"]
    path = f"/api/v1/requests/{rid}/actions"
    no_reason = await server.post(path, "MEF-CG", {"action": "deny"})
    assert no_reason.status_code == 409 and no_reason.json()["detail"] == "deny needs a reason"
    denied = await server.post(path, "MEF-CG", {"action": "deny", "reason": "no JP-8 stock"})
    assert denied.status_code == 200 and denied.json()["state"] == "denied"
    again = await server.post(path, "MEF-CG", {"action": "approve", "reason": "changed my mind"})
    assert again.status_code == 409
    assert again.json()["detail"].startswith(f"request {rid} is denied since ")
    assert again.json()["detail"].endswith("that is final")
    assert (await server.get(f"/api/v1/requests/{rid}", "MEF-CG")).json()["state"] == "denied"


async def test_every_transition_and_refusal_is_audited(server: Server) -> None:
    rid = (await submit(server, REL_JPN))["id"]
    path = f"/api/v1/requests/{rid}/actions"
    await server.post(path, "MARINE-OPS", {"action": "comment", "reason": "fuel state 40%"})
    await server.post(path, "JS-CMDR", {"action": "approve"})  # refused: 403
    await server.post(path, "MEF-CG", {"action": "deny", "reason": "no stock"})
    await server.post(path, "MEF-CG", {"action": "approve"})  # refused: 409
    entries = await server.audit_entries(lambda e: e.subject == rid, 6)
    trail = [(e.actor, e.action, e.detail.get("status")) for e in entries]
    assert trail == [
        ("MARINE-OPS", "request.submit", None),
        ("system", "request.route", None),
        ("MARINE-OPS", "request.comment", None),
        ("JS-CMDR", "request.action_refused", 403),
        ("MEF-CG", "request.deny", None),
        ("MEF-CG", "request.action_refused", 409),
    ]
    deny = entries[4].detail
    assert (
        deny["organisation"] == "iiimef" and deny["to"] == "denied" and deny["reason"] == "no stock"
    )
    assert server.runtime.audit_log.verify().ok


async def test_submission_rules(server: Server) -> None:
    cases = [
        # A JPN operator is not in 3rd Marine Division's chain of command.
        (
            "GCC-OPS",
            logistics(REL_JPN),
            403,
            "GCC-OPS (gcc) is not 3mardiv or in its chain of command",
        ),
        # A commander of a superior HQ may submit for it, but not above its clearance.
        (
            "MEF-CG",
            logistics("TOP SECRET//NOFORN"),
            403,
            "marking TOP SECRET//NOFORN: cannot send TOP SECRET above clearance SECRET",
        ),
        (
            "MARINE-OPS",
            logistics("SECRET//REL TO JPN, PHL"),
            403,
            "marking SECRET//REL TO JPN, PHL: REL TO must include the sender's nation USA",
        ),
        ("MARINE-OPS", logistics("SECRET//BOGUS"), 422, None),
        ("MARINE-OPS", {**logistics(REL_JPN), "kind": "pizza_delivery"}, 422, None),
        (
            "MARINE-OPS",
            {**logistics(REL_JPN), "originator": "usfj_j2_typo"},
            422,
            "unknown originating organisation 'usfj_j2_typo'",
        ),
        (
            None,
            logistics("UNCLASSIFIED"),
            403,
            "submitting a request needs the operator or commander role",
        ),
    ]
    for who, body, status, detail in cases:
        response = await server.post("/api/v1/requests", who, body)
        assert response.status_code == status, (who, body, response.text)
        if detail is not None:
            assert response.json()["detail"] == detail
    refusals = await server.audit_entries(
        lambda e: e.action == "request.submit_refused", len(cases)
    )
    assert len(refusals) == len(cases)
    assert (await server.get("/api/v1/requests", "MEF-CG")).json()["requests"] == []


async def test_a_request_is_marked_at_least_as_its_originator(server: Server) -> None:
    body = {**logistics("UNCLASSIFIED"), "originator": "usfj_j2", "kind": "logistics_support"}
    server.runtime.principals.update(
        Principal("MEF-CG", "USA", "SECRET", roles=frozenset({"commander"}), organisation="usfj")
    )
    server.runtime.directory.refresh()
    response = await server.post("/api/v1/requests", "MEF-CG", body)
    assert response.status_code == 422
    assert (
        response.json()["detail"] == "a request from usfj_j2 must be marked at least SECRET//NOFORN"
    )


async def test_live_views_get_only_the_requests_they_may_see(server: Server) -> None:
    us = StreamListener(Principal("US-VIEW", "USA", "SECRET"))
    jpn = StreamListener(Principal("JP-VIEW", "JPN", "SECRET"))
    for listener in (us, jpn):
        server.runtime.hub.add_listener(listener)
    noforn = (await submit(server, NOFORN))["id"]
    shared = (await submit(server, REL_JPN))["id"]

    def requests_seen(listener: StreamListener) -> list[str]:
        out = []
        while not listener.queue.empty():
            message = listener.queue.get_nowait()
            if message is not None and message["kind"] == "request":
                out.append(message["request"]["id"])
        return out

    assert requests_seen(us) == [noforn, shared]
    assert requests_seen(jpn) == [shared]

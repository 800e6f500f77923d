"""Requests and readiness across servers: Tokyo's JJOC server and the USFJ server.

Both load ``alliance-jfhq``. Each administrator maps the other server's
organisations in its federate configuration (``organisations`` in the rules
file). A JPN request decided by JJOC needs USFJ's concurrence: it is submitted
and approved in Tokyo, concurred on the USFJ server, and approved end to end;
both servers' audit trails record their part and verify. Readiness reports
cross as far as their markings allow, and the peer's roll-up counts only them.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

import allied_c2
from allied_c2.store.audit import AuditLog
from tests.federation.support import Node, make_node, register, wait_for, wait_up
from tests.support.server import cli, create_token

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

SCENARIO = str(Path(allied_c2.__file__).parent / "scenarios" / "alliance-jfhq.yaml")
REL = "SECRET//REL TO USA, JPN"


def _call(node: Node, method: str, path: str, token: str, body: Any = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{node.server.url}{path}", data=data, method=method)
    request.add_header("Authorization", f"Bearer {token}")
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as resp:
        return json.loads(resp.read())


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Node, Node, dict[str, str]]]:
    root = tmp_path_factory.mktemp("alliance")
    with ThreadPoolExecutor(2) as pool:
        jpn_f = pool.submit(
            make_node,
            root,
            "JJOC-SRV",
            "JPN",
            [],
            "--scenario",
            SCENARIO,
            staff=(("jjoc-cdr", "JPN", "SECRET", ("commander",), "jjoc"),),
        )
        usa_f = pool.submit(
            make_node,
            root,
            "USFJ-SRV",
            "USA",
            [],
            "--scenario",
            SCENARIO,
            "--federation-nation",
            "USA",
            staff=(("usfj-cdr", "USA", "SECRET", ("commander",), "usfj"),),
        )
        jpn, usa = jpn_f.result(), usa_f.result()
        tokens_f = [
            pool.submit(create_token, jpn.data, "jjoc-cdr"),
            pool.submit(create_token, usa.data, "usfj-cdr"),
        ]
        tokens = {"jjoc-cdr": tokens_f[0].result(), "usfj-cdr": tokens_f[1].result()}
    try:
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(lambda node: node.server.start(60), (jpn, usa)))
        held_by_usfj = root / "usfj-srv.toml"
        held_by_usfj.write_text('organisations = ["usfj", "indopacom"]\n')
        held_by_jjoc = root / "jjoc-srv.yaml"
        held_by_jjoc.write_text("organisations: [jjoc, gcc, js]\n")
        register(jpn, usa, dial=False, rules=held_by_usfj)
        register(usa, jpn, dial=True, rules=held_by_jjoc)
        wait_up(usa, "JJOC-SRV")
        wait_up(jpn, "USFJ-SRV")
        yield jpn, usa, tokens
    finally:
        for node in (jpn, usa):
            node.server.stop()
            node.close()


def _exercise_change(subject: str) -> dict[str, str]:
    """A JJOC request whose route needs USFJ's concurrence, releasable to both."""
    return {
        "kind": "bilateral_exercise_change",
        "originator": "jjoc",
        "subject": subject,
        "marking": REL,
    }


def test_a_jpn_request_needing_usfj_concurrence_is_approved_across_servers(
    pair: tuple[Node, Node, dict[str, str]],
) -> None:
    jpn, usa, tokens = pair
    jjoc, usfj = tokens["jjoc-cdr"], tokens["usfj-cdr"]
    body = _exercise_change("Move the bilateral live-fire serial by one day")
    submitted = _call(jpn, "POST", "/api/v1/requests", jjoc, body)
    rid = submitted["id"]
    mirror = f"{rid}@JJOC-SRV"
    # JPN-only (national SECRET, no REL TO): may not cross; USFJ never learns of it.
    national = _call(jpn, "POST", "/api/v1/requests", jjoc, {**body, "marking": "SECRET"})
    _call(jpn, "POST", f"/api/v1/requests/{rid}/actions", jjoc, {"action": "approve"})

    def usfj_holds() -> Any:
        listing = _call(usa, "GET", "/api/v1/requests", usfj)
        found = {r["id"]: r for r in listing["requests"]}
        mine = found.get(mirror)
        return mine if mine and mine["state"] == "coordination" else None

    held = wait_for(usfj_holds, 30, "the USFJ server holds the request in coordination")
    # Its map marker crosses too, named as the copy is: never USFJ's own request-REQ-0001.
    marker_uid = f"request-{rid}@JJOC-SRV"
    wait_for(
        lambda: (
            marker_uid in {i["uid"] for i in _call(usa, "GET", "/api/v1/picture", usfj)["items"]}
        ),
        30,
        "the JJOC request's marker on the USFJ map",
    )
    assert f"request-{rid}" not in {
        i["uid"] for i in _call(usa, "GET", "/api/v1/picture", usfj)["items"]
    }
    assert held["holders"] == ["usfj"] or "usfj" in str(held["holders"])
    detail = _call(usa, "GET", f"/api/v1/requests/{mirror}", usfj)
    assert "concur" in detail["allowed_actions"]
    assert all(not r["id"].startswith(national["id"] + "@") for r in _listing(usa, usfj))

    # A deny without a reason is refused on the USFJ server itself (the lifecycle, on a copy).
    with pytest.raises(urllib.error.HTTPError) as refused:
        _call(usa, "POST", f"/api/v1/requests/{mirror}/actions", usfj, {"action": "nonconcur"})
    assert refused.value.code == 409
    _call(usa, "POST", f"/api/v1/requests/{mirror}/actions", usfj, {"action": "concur"})

    def state(node: Node, token: str, request_id: str) -> str:
        return str(_call(node, "GET", f"/api/v1/requests/{request_id}", token)["state"])

    wait_for(lambda: state(jpn, jjoc, rid) == "approved", 30, "approved in Tokyo")
    wait_for(lambda: state(usa, usfj, mirror) == "approved", 30, "approved on the USFJ copy")

    # Each server's audit trail holds what it saw and did.
    concur = [e for e in jpn.audit("request.concur") if e.subject == rid]
    assert [e.actor for e in concur] == ["fed:USFJ-SRV/usfj-cdr"]
    assert concur[0].detail["organisation"] == "usfj"
    forwarded = [e for e in usa.audit("request.forwarded") if e.subject == mirror]
    assert [(e.actor, e.detail["action"]) for e in forwarded] == [("usfj-cdr", "concur")]
    trail = AuditLog(usa.engine, usa.data / "audit.anchor").tail(500)
    seen = {e.action for e in trail if e.subject == mirror}
    assert {"request.submit", "request.approve", "request.concur"} <= seen
    # The JPN-only request met the guard (attribution or release) and did not cross.
    denied = [e for e in jpn.audit("federation.denied") if e.detail.get("type") == "t-x-a2c"]
    assert denied and all(e.detail["marking"] == "SECRET" for e in denied)


def _listing(node: Node, token: str) -> list[dict[str, Any]]:
    return list(_call(node, "GET", "/api/v1/requests", token)["requests"])


def test_readiness_crosses_as_far_as_markings_allow(
    pair: tuple[Node, Node, dict[str, str]],
) -> None:
    jpn, usa, tokens = pair
    admin = usa.admin_token
    _call(usa, "POST", "/api/v1/readiness", admin, _report("jjoc_ct", REL))
    _call(usa, "POST", "/api/v1/readiness", admin, _report("usfj_j2", "SECRET//NOFORN"))
    jjoc = tokens["jjoc-cdr"]

    def units() -> set[str]:
        return {r["unit"] for r in _call(jpn, "GET", "/api/v1/readiness", jjoc)["reports"]}

    wait_for(lambda: "jjoc_ct" in units(), 30, "the REL TO USA, JPN report reached Tokyo")
    assert "usfj_j2" not in units()
    rollup = _call(jpn, "GET", "/api/v1/readiness/rollup?by=nation", jjoc)
    usa_units = rollup["nations"].get("USA", {})
    assert usa_units.get("reported") == 1 and "usfj_j2" not in json.dumps(rollup)
    assert usa.links()["JJOC-SRV"]["refusals"].get("release", 0) >= 1
    received = [e for e in jpn.audit("readiness.received") if e.subject == "jjoc_ct"]
    assert received and received[0].actor == "fed:USFJ-SRV"


def _report(unit: str, marking: str) -> dict[str, Any]:
    return {"unit": unit, "p": 2, "s": 1, "r": 1, "t": 2, "marking": marking}


def test_both_audit_trails_verify(pair: tuple[Node, Node, dict[str, str]], tmp_path: Path) -> None:
    for node in pair[:2]:
        result = cli("audit", "verify", "--data-dir", str(node.data))
        assert result.returncode == 0, result.stdout + result.stderr


def test_an_action_on_a_copy_is_refused_while_its_home_is_away(
    pair: tuple[Node, Node, dict[str, str]],
) -> None:
    """An action is forwarded only over a live link: a queued one would be held in memory
    alone, so the USFJ server answers 503 and the action is taken once Tokyo is back."""
    jpn, usa, tokens = pair
    jjoc, usfj = tokens["jjoc-cdr"], tokens["usfj-cdr"]
    body = _exercise_change("Hold the serial while Tokyo is away")
    rid = _call(jpn, "POST", "/api/v1/requests", jjoc, body)["id"]
    _call(jpn, "POST", f"/api/v1/requests/{rid}/actions", jjoc, {"action": "approve"})
    mirror = f"{rid}@JJOC-SRV"
    wait_for(lambda: any(r["id"] == mirror for r in _listing(usa, usfj)), 30, "the copy in USFJ")
    # Tokyo stops and comes back on the federation port USFJ dials.
    args = jpn.server.args
    args[args.index("--federation") + 1] = jpn.federation_address
    jpn.server.stop()
    try:
        wait_for(lambda: usa.links()["JJOC-SRV"]["state"] != "up", 30, "the link down")
        with pytest.raises(urllib.error.HTTPError) as away:
            _call(usa, "POST", f"/api/v1/requests/{mirror}/actions", usfj, {"action": "concur"})
        assert away.value.code == 503
        assert "not connected" in json.loads(away.value.read())["detail"]
        assert not [e for e in usa.audit("request.forwarded") if e.subject == mirror]
    finally:
        jpn.server.start(60)
    wait_up(usa, "JJOC-SRV")
    wait_up(jpn, "USFJ-SRV")
    _call(usa, "POST", f"/api/v1/requests/{mirror}/actions", usfj, {"action": "concur"})
    wait_for(
        lambda: _call(jpn, "GET", f"/api/v1/requests/{rid}", jjoc)["state"] == "approved",
        30,
        "approved in Tokyo once it is back",
    )

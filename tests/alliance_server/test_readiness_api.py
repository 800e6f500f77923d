"""Readiness over the real HTTP app: who may report, who sees what, roll-ups over what is seen."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.alliance_server.conftest import START, Server
from tests.alliance_server.test_requests_api import NOFORN, REL_JPN


def report(unit: str, p: int, s: int, r: int, t: int, **extra: Any) -> dict[str, Any]:
    return {"unit": unit, "p": p, "s": s, "r": r, "t": t, **extra}


async def post(server: Server, who: str, body: dict[str, Any], status: int = 201) -> Any:
    response = await server.post("/api/v1/readiness", who, body)
    assert response.status_code == status, response.text
    return response.json()


async def seed(server: Server) -> None:
    mets = [
        {"task": "Conduct airborne assault", "rating": "Y"},
        {"task": "Conduct HADR", "rating": "Q"},
    ]
    await post(
        server,
        "GCC-OPS",
        report(
            "1abn",
            1,
            2,
            2,
            1,
            marking=REL_JPN,
            mets=mets,
            assessed="C-3",
            reason="jump aircraft grounded",
        ),
    )
    await post(server, "MARINE-OPS", report("3mardiv", 4, 2, 1, 2, marking=NOFORN))
    old = (START - timedelta(days=40)).isoformat()
    await post(server, "MEF-STAFF", report("12mlr", 2, 2, 2, 1, reported_at=old))


async def test_posting_rules(server: Server) -> None:
    cases = [
        (
            "GCC-OPS",
            report("3mardiv", 1, 1, 1, 1),
            403,
            "GCC-OPS (gcc) is not 3mardiv or in its chain of command",
        ),
        (
            "GCC-OPS",
            report("sfg_j", 1, 1, 1, 1, marking="UNCLASSIFIED"),
            422,
            "a report on sfg_j must be marked at least SECRET//REL TO USA, JPN",
        ),
        ("GCC-OPS", report("1abn", 7, 1, 1, 1), 422, "P (personnel) must be 1-4, got 7"),
        (
            "GCC-OPS",
            report("1abn", 1, 2, 2, 1, assessed="C-3"),
            422,
            "assessed C-3 differs from computed C-2: the commander must give a reason",
        ),
        ("GCC-OPS", report("usfj_j2", 1, 1, 1, 1), 422, "unknown unit 'usfj_j2'"),
        (
            None,
            report("1abn", 1, 1, 1, 1),
            403,
            "reporting readiness needs the operator or commander role",
        ),
    ]
    for who, body, status, detail in cases:
        response = await server.post("/api/v1/readiness", who, body)
        assert (response.status_code, response.json()["detail"]) == (status, detail), who
    refused = await server.audit_entries(lambda e: e.action == "readiness.refused", len(cases))
    assert len(refused) == len(cases)

    created = await post(server, "GCC-OPS", report("1abn", 1, 2, 2, 1))
    assert created["marking"]["banner"] == "UNCLASSIFIED"  # the unit record's marking
    assert (created["computed"], created["assessed"], created["level"]) == ("C-2", None, "C-2")
    assert created["unit_name"] and created["nation"] == "JPN" and created["stale"] is False
    audited = await server.audit_entries(lambda e: e.action == "readiness.report", 1)
    assert [(e.actor, e.subject) for e in audited] == [("GCC-OPS", "1abn")]


async def test_each_caller_sees_the_latest_report_it_may_see(server: Server) -> None:
    await seed(server)
    seen = {}
    for who in ("MEF-CG", "JS-CMDR", None):
        body = (await server.get("/api/v1/readiness", who)).json()
        seen[who] = (body["banner"], {r["unit"]: r for r in body["reports"]})
    assert seen["MEF-CG"][0] == NOFORN and set(seen["MEF-CG"][1]) == {"1abn", "3mardiv", "12mlr"}
    assert seen["JS-CMDR"][0] == REL_JPN and set(seen["JS-CMDR"][1]) == {"1abn", "12mlr"}
    assert seen[None][0] == "UNCLASSIFIED" and set(seen[None][1]) == {"12mlr"}
    abn = seen["JS-CMDR"][1]["1abn"]
    assert (abn["level"], abn["computed"], abn["reason"]) == (
        "C-3",
        "C-2",
        "jump aircraft grounded",
    )
    assert abn["mets"][1] == {"task": "Conduct HADR", "rating": "Q"}
    assert seen[None][1]["12mlr"]["stale"] is True

    # A newer NOFORN report on 12mlr hides nothing from the US and changes nothing for JPN.
    await post(server, "MEF-CG", report("12mlr", 3, 3, 3, 3, marking=NOFORN))
    us = {r["unit"]: r for r in (await server.get("/api/v1/readiness", "MEF-CG")).json()["reports"]}
    jp = {
        r["unit"]: r for r in (await server.get("/api/v1/readiness", "JS-CMDR")).json()["reports"]
    }
    assert us["12mlr"]["level"] == "C-3" and us["12mlr"]["stale"] is False
    assert jp["12mlr"]["level"] == "C-2" and jp["12mlr"]["stale"] is True


async def test_rollups_use_only_what_the_caller_may_see(server: Server) -> None:
    await seed(server)
    us = (await server.get("/api/v1/readiness/rollup", "MEF-CG", org="iiimef")).json()
    jp = (await server.get("/api/v1/readiness/rollup", "JS-CMDR", org="iiimef")).json()
    assert us["filtered"] is True and "releasable to the caller" in us["note"]
    assert (us["reported"], us["stale"], us["worst"], us["banner"]) == (2, 1, "C-4", NOFORN)
    assert us["worst_units"] == ["3mardiv"] and us["by_level"]["C-4"] == 1
    assert (jp["reported"], jp["stale"], jp["worst"], jp["banner"]) == (1, 1, "C-2", "UNCLASSIFIED")
    assert "3mardiv" in jp["missing_units"]  # JPN sees the unit, not its NOFORN report
    assert us["areas"]["P"] == {"worst": 4, "mean": 3.0}

    hidden = await server.get("/api/v1/readiness/rollup", "JS-CMDR", org="usfj_j2")
    assert hidden.status_code == 404

    us_n = (await server.get("/api/v1/readiness/rollup", "MEF-CG", by="nation")).json()
    jp_n = (await server.get("/api/v1/readiness/rollup", "JS-CMDR", by="nation")).json()
    assert us_n["nations"]["USA"]["reported"] == 2 and jp_n["nations"]["USA"]["reported"] == 1
    assert us_n["nations"]["JPN"]["worst"] == "C-3" == jp_n["nations"]["JPN"]["worst"]
    assert us_n["banner"] == NOFORN and jp_n["banner"] == REL_JPN
    # A unit whose record JPN may not see is not even counted as missing for JPN.
    assert us_n["nations"]["USA"]["units"] > jp_n["nations"]["USA"]["units"]
    bad = await server.get("/api/v1/readiness/rollup", "JS-CMDR", by="service")
    assert bad.status_code == 422

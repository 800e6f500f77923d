"""The command structure and its C2SIM export, filtered per caller."""

from __future__ import annotations

from pathlib import Path

from allied_c2.alliance.c2sim_import import import_c2sim
from tests.alliance_server.conftest import Server, close_server, open_server
from tests.alliance_server.test_requests_api import NOFORN, REL_JPN


async def test_structure_is_filtered_per_caller(server: Server) -> None:
    views = {}
    for who in ("MEF-CG", "JS-CMDR", None):
        response = await server.get("/api/v1/structure", who)
        assert response.status_code == 200
        views[who] = response.json()
    ids = {who: {o["id"] for o in v["organisations"]} for who, v in views.items()}
    us, jp, anon = ids["MEF-CG"], ids["JS-CMDR"], ids[None]
    assert len(us) == 81 and views["MEF-CG"]["banner"] == NOFORN
    assert {"usfj_j2", "1-1sfg", "jsotf_j"} <= us and not {"usfj_j2", "1-1sfg", "jsotf_j"} & jp
    assert {"ctf72", "bocc", "usfj"} <= jp and views["JS-CMDR"]["banner"] == REL_JPN
    assert not {"ctf72", "bocc", "cdc"} & anon and views[None]["banner"] == "UNCLASSIFIED"
    for who, view in views.items():
        for rel in view["relationships"]:
            assert {rel["superior"], rel["subordinate"]} <= ids[who]
        for rule in view["authorities"]:
            assert rule["decider"] in ids[who] and set(rule["forces"]) <= ids[who]
    j2 = next(o for o in views["MEF-CG"]["organisations"] if o["id"] == "usfj_j2")
    assert j2["parent"] == "usfj"
    assert j2["marking"] == {
        "banner": NOFORN,
        "portion": "(S//NF)",
        "class": "mk-s",
        "originator": "USA",
    }


async def test_c2sim_export_carries_only_what_the_caller_may_see(server: Server) -> None:
    us = await server.get("/api/v1/structure/c2sim", "MEF-CG")
    jp = await server.get("/api/v1/structure/c2sim", "JS-CMDR")
    assert us.headers["content-type"].startswith("application/xml")
    assert us.headers["x-classification-banner"] == NOFORN
    assert jp.headers["x-classification-banner"] == REL_JPN
    assert b"USFJ intelligence fusion cell" in us.content
    assert b"USFJ intelligence fusion cell" not in jp.content
    imported = import_c2sim(jp.content)  # plain C2SIM: ids come from the names
    names = {o.name for o in imported.organisations.values()}
    assert "USFJ intelligence fusion cell" not in names
    assert "Bilateral Operations Coordination Center" in names
    assert len(imported.organisations) == len(
        (await server.get("/api/v1/structure", "JS-CMDR")).json()["organisations"]
    )


async def test_no_structure_loaded(tmp_path: Path) -> None:
    bare = await open_server(tmp_path / "var", scenario=None)
    try:
        assert (await bare.get("/api/v1/structure", "MEF-CG")).status_code == 404
        assert (await bare.get("/api/v1/structure/c2sim", "MEF-CG")).status_code == 404
        refused = await bare.post(
            "/api/v1/requests",
            "MEF-CG",
            {
                "kind": "logistics_support",
                "originator": "iiimef",
                "subject": "x",
                "marking": "UNCLASSIFIED",
            },
        )
        assert refused.status_code == 409 and "no command structure" in refused.json()["detail"]
        assert (await bare.get("/api/v1/requests", "MEF-CG")).json()["requests"] == []
    finally:
        await close_server(bare)

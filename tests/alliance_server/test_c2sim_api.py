"""`POST /api/v1/c2sim` and `GET /api/v1/c2sim/reports`, and the structure's C2SIM export."""

from __future__ import annotations

import httpx

from allied_c2.alliance.c2sim import org_uuid
from allied_c2.alliance.c2sim_import import read_initialization
from allied_c2.alliance.c2sim_reports import read_reports
from allied_c2.alliance.scenario import load_scenario_text
from tests.alliance.c2sim_material import POSITION, assert_valid, sample
from tests.alliance.test_c2sim_reports import OBSERVED
from tests.alliance_server.conftest import Server

GMU_UNIT = b"00000000-0007-0001-0103-000000000000"
OBSERVED_UID = "c2sim-44444444-4444-4444-4444-444444444444"


async def post(server: Server, who: str | None, body: bytes, **params: str) -> httpx.Response:
    headers = {"Content-Type": "application/xml"} | (server.auth(who) if who else {})
    return await server.client.post("/api/v1/c2sim", content=body, headers=headers, params=params)


async def picture(server: Server, who: str | None) -> dict[str, dict[str, object]]:
    items = (await server.get("/api/v1/picture", who)).json()["items"]
    return {item["uid"]: item for item in items}


async def test_reports_land_on_the_picture_marked_from_the_message(server: Server) -> None:
    unmarked = await post(server, "MEF-CG", sample(POSITION))
    assert unmarked.status_code == 200, unmarked.text
    body = unmarked.json()
    assert body["accepted"] == ["c2sim-" + GMU_UNIT.decode()] and body["marking"] == "UNCLASSIFIED"
    assert "is not a calendar time" in body["notes"][0]
    secret = await post(server, "MEF-CG", OBSERVED)
    assert secret.json()["marking"] == "SECRET" and secret.json()["not_mapped"]
    shared = await post(
        server,
        "MEF-CG",
        OBSERVED.replace(b"4444", b"7777"),
        marking="SECRET//REL TO USA, JPN",
    )
    assert shared.status_code == 200, shared.text
    us, jp, anon = [await picture(server, w) for w in ("MEF-CG", "JS-CMDR", None)]
    item = us[OBSERVED_UID]
    assert item["type"] == "a-h-G-U-C-R" and item["callsign"] == "OPFOR RECCE"
    marking = item["marking"]
    assert isinstance(marking, dict) and (marking["banner"], marking["originator"]) == (
        "SECRET",
        "USA",  # the hub makes the caller's nation the originator
    )
    shared_uid = OBSERVED_UID.replace("4444", "7777")
    assert shared_uid in jp and OBSERVED_UID not in jp  # the hub's release decision
    assert set(anon) == {"c2sim-" + GMU_UNIT.decode()}


async def test_markings_below_the_message_anonymous_and_garbage_are_refused(
    server: Server,
) -> None:
    below = await post(server, "MEF-CG", OBSERVED, marking="UNCLASSIFIED")
    assert below.status_code == 422 and "below the message's classification" in below.text
    assert (await post(server, "MEF-CG", OBSERVED, marking="SECRIT")).status_code == 422
    assert (await post(server, None, sample(POSITION))).status_code == 403
    assert (await post(server, "MEF-CG", b"<nope")).status_code == 422
    # A sender may not mark above its clearance: the hub refuses, nothing lands.
    high = await post(server, "AGILA", OBSERVED)
    assert high.status_code == 403 and OBSERVED_UID not in await picture(server, "MEF-CG")


async def test_structure_names_a_unit_only_within_its_marking(server: Server) -> None:
    known = sample(POSITION).replace(GMU_UNIT, org_uuid("iiimef").encode())
    assert (await post(server, "MEF-CG", known)).status_code == 200
    hidden = sample(POSITION).replace(GMU_UNIT, org_uuid("usfj_j2").encode())  # SECRET//NOFORN
    assert (await post(server, "MEF-CG", hidden)).status_code == 200
    items = await picture(server, "MEF-CG")
    iiimef = items["c2sim-" + org_uuid("iiimef")]
    assert iiimef["callsign"] == "III Marine Expeditionary Force"
    assert iiimef["type"] == "a-f-G-U-C-I"  # from the record's SIDC
    # The message is unclassified: naming the cell would move its record down.
    assert items["c2sim-" + org_uuid("usfj_j2")]["callsign"] == org_uuid("usfj_j2")


async def test_picture_out_as_position_reports_per_caller(server: Server) -> None:
    assert (await server.get("/api/v1/c2sim/reports", None)).status_code == 204
    await post(server, "MEF-CG", OBSERVED)
    await post(
        server, "MEF-CG", OBSERVED.replace(b"4444", b"7777"), marking="SECRET//REL TO USA, JPN"
    )
    for version in ("1.0.0", "cwix2025"):
        response = await server.get("/api/v1/c2sim/reports", "JS-CMDR", version=version)
        assert response.status_code == 200
        assert response.headers["x-classification-banner"] == "SECRET//REL TO USA, JPN"
        assert_valid(response.content, version)
        batch = read_reports(response.content)
        assert batch.classification == "Secret"
        assert [s.subject for s in batch.sightings] == ["77777777-7777-7777-7777-777777777777"]
    us = read_reports((await server.get("/api/v1/c2sim/reports", "MEF-CG")).content)
    assert len(us.sightings) == 2
    assert (await server.get("/api/v1/c2sim/reports", "MEF-CG", version="9")).status_code == 422


async def test_structure_export_targets_a_version_and_has_a_companion(server: Server) -> None:
    for version in ("1.0.0", "1.0.1", "cwix2025", "2.0.0-cwix2026"):
        response = await server.get("/api/v1/structure/c2sim", "JS-CMDR", version=version)
        assert response.status_code == 200
        assert_valid(response.content, version)
    bad = await server.get("/api/v1/structure/c2sim", "JS-CMDR", version="1.1")
    assert bad.status_code == 422
    xml = (await server.get("/api/v1/structure/c2sim", "JS-CMDR")).content
    companion = await server.get("/api/v1/structure/c2sim/companion", "JS-CMDR")
    assert companion.headers["x-classification-banner"] == "SECRET//REL TO USA, JPN"
    view = load_scenario_text(companion.text, "companion.yaml")
    imported = read_initialization(xml, companion=view).structure
    assert imported == view and "usfj_j2" not in imported.organisations

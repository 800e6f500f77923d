"""Request markers on the CoT stream, filtered by the request's marking like any item."""

from __future__ import annotations

import asyncio

from tests.alliance_server.conftest import Server
from tests.alliance_server.test_requests_api import REL_JPN, logistics
from tests.support.cot import CotClient


async def test_an_anonymous_tak_client_sees_only_the_unclassified_marker(server: Server) -> None:
    live = await CotClient.connect(*server.cot_address())
    try:
        await asyncio.sleep(0.1)  # attached before anything is published
        secret = await server.post(
            "/api/v1/requests", "MARINE-OPS", {**logistics(REL_JPN), "lat": 26.3, "lon": 127.8}
        )
        public = await server.post("/api/v1/requests", "MARINE-OPS", logistics("UNCLASSIFIED"))
        secret_id, public_id = secret.json()["id"], public.json()["id"]

        marker = await live.wait_uid(f"request-{public_id}")
        assert marker.type == "b-m-p-s-m"
        assert marker.callsign == f"{public_id} Logistics support (ACSA)"
        assert marker.access == "UNCLASSIFIED"
        assert marker.remarks is not None
        assert "from 3mardiv: in_review, held by iiimef" in marker.remarks
        origin = server.runtime.structure.organisations["3mardiv"]  # type: ignore[union-attr]
        assert origin.location is not None
        assert (marker.lat, marker.lon) == (origin.location.lat, origin.location.lon)

        # Publishing is in order per client: the secret marker would have come first.
        assert f"request-{secret_id}" not in live.uids()

        await server.post(
            f"/api/v1/requests/{public_id}/actions", "MEF-CG", {"action": "approve", "reason": ""}
        )
        decided = await live.wait_for(
            lambda e: e.uid == f"request-{public_id}" and "approved" in (e.remarks or "")
        )
        assert "held by -" in (decided.remarks or "")
    finally:
        await live.close()

    # Catch-up after a (re)connect: still only what the anonymous profile may receive.
    late = await CotClient.connect(*server.cot_address())
    try:
        await late.wait_uid(f"request-{public_id}")
        await asyncio.sleep(0.2)
        assert f"request-{secret_id}" not in late.uids()
    finally:
        await late.close()

    # The web picture applies the same rule: the SECRET marker is there for a US user only.
    us = (await server.get("/api/v1/picture", "MEF-CG")).json()["items"]
    secret_items = [i for i in us if i["uid"] == f"request-{secret_id}"]
    assert secret_items and secret_items[0]["marking"]["banner"] == REL_JPN
    assert (secret_items[0]["lat"], secret_items[0]["lon"]) == (26.3, 127.8)
    anon = (await server.get("/api/v1/picture")).json()["items"]
    assert {i["uid"] for i in anon} == {f"request-{public_id}"}

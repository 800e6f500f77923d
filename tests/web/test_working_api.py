"""The web COP's working routes (issue 15), in process: chat, markup, replay, the picker.

Every route that returns items goes through the audience decision; every route that
sends goes through ``Hub.ingest`` as the caller. These tests check both halves with
principals of three nations (tests/alliance_server/conftest.py ``PEOPLE``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from allied_c2.cot.xmlcodec import parse_xml
from allied_c2.security.principals import Principal
from allied_c2.web.stream import StreamListener
from tests.alliance_server.conftest import Server, close_server, open_server
from tests.support.cot import iso, marker
from tests.support.inprocess import FakePeer

US = Principal("MARINE-OPS", "USA", "SECRET", organisation="3mardiv")
REL_JPN = "SECRET//REL TO USA, JPN"


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[Server]:
    srv = await open_server(tmp_path / "var")
    try:
        yield srv
    finally:
        await close_server(srv)


async def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def drained(listener: StreamListener) -> list[dict[str, Any]]:
    """What the socket's writer would send now (a batch marker resolved to its batch)."""
    out = []
    while not listener.queue.empty():
        message = listener.resolve(listener.queue.get_nowait())
        if isinstance(message, dict):
            out.append(message)
    return out


async def test_the_picker_offers_only_what_the_caller_may_originate(server: Server) -> None:
    phl = await ok(await server.get("/api/v1/markings/allowed", "AGILA"))
    banners = [m["banner"] for m in phl["markings"]]
    assert phl["default"]["banner"] == "UNCLASSIFIED" == banners[0]
    assert "PHL CONFIDENTIAL//REL TO USA, PHL" in banners
    assert not any(b.startswith(("SECRET", "PHL SECRET", "TOP SECRET")) for b in banners)
    jpn = [
        m["banner"]
        for m in (await ok(await server.get("/api/v1/markings/allowed", "JS-CMDR")))["markings"]
    ]
    assert "JPN GOKUHI//REL TO USA, JPN" in jpn and not any("NOFORN" in b for b in jpn)
    assert all(m["class"].startswith("mk-") for m in phl["markings"])
    anonymous = await ok(await server.get("/api/v1/markings/allowed"))
    assert [m["banner"] for m in anonymous["markings"]] == ["UNCLASSIFIED"]


async def test_text_xml_cannot_carry_is_refused_not_a_server_error(server: Server) -> None:
    """Found by schemathesis: U+0006 in a chat's text made lxml fail halfway (500)."""
    for body in (
        {"to": "All Chat Rooms", "text": "bell \u0006 here"},
        {"to": "MEF\u0000CG", "text": "hello"},
    ):
        refused = await server.post("/api/v1/chat", "MARINE-OPS", body)
        assert refused.status_code == 422 and "cannot appear in XML text" in refused.text
    marker = {"type": "b-m-p-s-m", "lat": 35.0, "lon": 139.0, "remarks": "\ufffe"}
    refused = await server.post("/api/v1/items", "MARINE-OPS", marker)
    assert refused.status_code == 422 and "U+FFFE" in refused.text
    fine = {"to": "All Chat Rooms", "text": "tab\tnew line\n日本語 ok"}
    await ok(await server.post("/api/v1/chat", "MARINE-OPS", fine), 201)


async def test_chat_is_addressed_and_marked_like_a_tak_users(server: Server) -> None:
    hub = server.runtime.hub
    views = {
        who: StreamListener(Principal(who, n, "SECRET"))
        for who, n in (("MEF-CG", "USA"), ("MEF-STAFF", "USA"), ("JS-CMDR", "JPN"))
    }
    for view in views.values():
        hub.add_listener(view)
    everyone = {"to": "All Chat Rooms", "text": "convoy departs 0600", "marking": REL_JPN}
    sent = await ok(await server.post("/api/v1/chat", "MARINE-OPS", everyone), 201)
    assert sent["marking"]["banner"] == REL_JPN and sent["kind"] == "all"
    direct = {"to": "MEF-CG", "text": "for the CG only", "marking": "SECRET//NOFORN"}
    await ok(await server.post("/api/v1/chat", "MARINE-OPS", direct), 201)
    # Above the sender's clearance: refused, with the reason.
    above = {"to": "All Chat Rooms", "text": "x", "marking": "SECRET//REL TO USA, PHL"}
    refused = await server.post("/api/v1/chat", "AGILA", above)
    assert refused.status_code == 403 and "clearance" in refused.text
    await asyncio.to_thread(server.runtime.writer.flush)

    async def texts(who: str) -> list[str]:
        body = await ok(await server.get("/api/v1/chat", who))
        return [m["text"] for m in body["messages"]]

    assert await texts("MEF-CG") == ["convoy departs 0600", "for the CG only"]
    assert await texts("MEF-STAFF") == ["convoy departs 0600"]
    assert await texts("JS-CMDR") == ["convoy departs 0600"]
    assert await texts("AGILA") == []  # PHL: not in the REL TO list
    live = {
        who: [m["message"]["text"] for m in drained(v) if m["kind"] == "chat"]
        for who, v in views.items()
    }
    assert live == {
        "MEF-CG": ["convoy departs 0600", "for the CG only"],
        "MEF-STAFF": ["convoy departs 0600"],
        "JS-CMDR": ["convoy departs 0600"],
    }


async def test_a_drawing_goes_out_as_atak_draws_it_and_deletes_as_tak_expects(
    server: Server,
) -> None:
    hub = server.runtime.hub
    peer = FakePeer(US, "127.0.0.1:5000")
    hub.attach(peer, datetime.now(UTC))
    view = StreamListener(US)
    hub.add_listener(view)
    polygon = {
        "type": "u-d-f",
        "points": [[18.1, 121.5], [18.4, 121.9], [18.0, 122.1], [18.1, 121.5]],
        "callsign": "AO NORTH",
        "remarks": "relief sector",
        "marking": REL_JPN,
    }
    created = await ok(await server.post("/api/v1/items", "MARINE-OPS", polygon), 201)
    uid = created["uid"]
    assert created["item"]["shape"]["kind"] == "polygon"
    sent = next(e for e in peer.received if e.uid == uid)
    assert sent.type == "u-d-f" and sent.access == "SECRET" and sent.detail is not None
    points = [c.get("point") for c in sent.detail if c.tag == "link"]
    assert len(points) == 4 and points[0] == points[-1]
    rings = {"type": "u-d-c-c", "lat": 18.6, "lon": 121.7, "radius": 5000, "rings": 3}
    ring_item = (await ok(await server.post("/api/v1/items", "MEF-CG", rings), 201))["item"]
    assert ring_item["shape"]["radii"] == [5000.0, 10000.0, 15000.0]
    # A JPN item marked in Japan's scheme: the US user sees it but may not originate it.
    jpn = {"type": "a-n-G", "lat": 18.2, "lon": 121.6, "marking": "JPN HI//REL TO USA, JPN"}
    jpn_uid = (await ok(await server.post("/api/v1/items", "JS-CMDR", jpn), 201))["uid"]
    edit = {"type": "a-h-G", "lat": 18.2, "lon": 121.6, "uid": jpn_uid}
    assert (await server.post("/api/v1/items", "MARINE-OPS", edit)).status_code == 403
    # The PHL user cannot see the US item at all: not found, not "forbidden".
    assert (
        await server.client.delete(f"/api/v1/items/{uid}", headers=server.auth("AGILA"))
    ).status_code == 404
    response = await server.client.delete(f"/api/v1/items/{uid}", headers=server.auth("JS-CMDR"))
    assert response.status_code == 200, response.text
    notice = next(e for e in peer.received if e.type == "t-x-d-d")
    assert notice.link_uids == (uid,) and notice.access == "SECRET"
    assert notice.detail is not None
    assert any(c.tag == "__forcedelete" for c in notice.detail)
    assert hub.picture.get(uid) is None
    assert {"kind": "remove", "uid": uid, "reason": "deleted"} in drained(view)


async def test_the_picture_at_a_past_moment_is_filtered_as_live(server: Server) -> None:
    hub = server.runtime.hub
    then = datetime.now(UTC) - timedelta(minutes=10)

    def at(uid: str, lat: float, when: datetime, marking: tuple[str | None, ...]) -> None:
        xml = marker(uid, lat, 121.0, cot_type="a-f-S", marking=marking, stale_s=3600)  # type: ignore[arg-type]
        text = xml.decode()
        for name in ("time", "start"):
            text = text.replace(f'{name}="', f'{name}="{iso(when)}" x{name}="', 1)
        hub.ingest(None, US, parse_xml(text.encode()), datetime.now(UTC))

    at("REPLAY-SHIP", 17.0, then, (None, None, None))
    at("REPLAY-SHIP", 19.0, then + timedelta(minutes=5), (None, None, None))
    at("REPLAY-NF", 18.0, then, ("SECRET", "NOFORN", None))
    await asyncio.to_thread(server.runtime.writer.flush)
    moment = iso(then + timedelta(minutes=2))
    us = await ok(await server.get("/api/v1/picture", "MEF-CG", at=moment))
    jpn = await ok(await server.get("/api/v1/picture", "JS-CMDR", at=moment))
    ship = next(i for i in us["items"] if i["uid"] == "REPLAY-SHIP")
    assert ship["lat"] == 17.0
    assert "REPLAY-NF" in {i["uid"] for i in us["items"]} and us["banner"] == "SECRET//NOFORN"
    assert "REPLAY-NF" not in {i["uid"] for i in jpn["items"]} and jpn["banner"] == "UNCLASSIFIED"
    later = await ok(
        await server.get("/api/v1/picture", "JS-CMDR", at=iso(then + timedelta(minutes=6)))
    )
    assert next(i for i in later["items"] if i["uid"] == "REPLAY-SHIP")["lat"] == 19.0
    window = {"since": iso(then - timedelta(minutes=1)), "until": iso(then + timedelta(minutes=9))}
    csv = await server.get("/api/v1/export", "JS-CMDR", format="csv", **window)
    assert csv.status_code == 200 and csv.headers["x-classification-banner"] == "UNCLASSIFIED"
    assert csv.text.count(",REPLAY-SHIP,a-f-S,") == 2 and "REPLAY-NF" not in csv.text
    kml = await server.get("/api/v1/export", "MEF-CG", format="kml", **window)
    assert "<gx:Track>" in kml.text and "REPLAY-NF" in kml.text and "SECRET//NOFORN" in kml.text


async def test_the_web_stream_batches_picture_changes() -> None:
    from allied_c2.security.markings import parse_banner
    from allied_c2.server.picture import PictureEntry

    unmarked = parse_banner("UNCLASSIFIED")

    def entry(n: int) -> PictureEntry:
        return PictureEntry(parse_xml(marker(f"B-{n % 3}", 10.0 + n, 120.0)), unmarked, "X")

    listener = StreamListener(US, batch_window=0.02)
    for n in range(7):
        listener.item(entry(n))
    assert listener.queue.empty()  # nothing before the batch window
    listener.removed("B-2", "stale")
    first, second = drained(listener)
    assert first["kind"] == "items" and {i["uid"] for i in first["items"]} == {"B-0", "B-1"}
    assert [i["lat"] for i in first["items"]] == [16.0, 14.0]  # the newest report per uid
    assert second == {"kind": "remove", "uid": "B-2", "reason": "stale"}
    # A writer that is busy: reports keep replacing each other until it takes the batch.
    listener.item(entry(0))
    await asyncio.sleep(0.05)
    assert listener.queue.qsize() == 1  # one marker, however many reports follow
    for n in (3, 6, 9):
        listener.item(entry(n))
    await asyncio.sleep(0.05)
    assert listener.queue.qsize() == 1
    (batch,) = drained(listener)
    assert [(i["uid"], i["lat"]) for i in batch["items"]] == [("B-0", 19.0)]


async def test_a_page_that_acknowledges_has_at_most_two_batches_in_flight() -> None:
    from allied_c2.web.flow import WINDOW, Credit

    credit = Credit()
    for _ in range(5):  # a page that never acknowledges is never held back
        credit.stamp({"kind": "items"})
    assert not credit.blocked
    credit.ack(5)  # its first ack turns flow control on
    batches: list[dict[str, object]] = [{"kind": "items"} for _ in range(WINDOW)]
    for batch in batches:
        credit.stamp(batch)
    assert [b["seq"] for b in batches] == [6, 7] and credit.blocked
    for bogus in (99, -1, True, "7", None):
        credit.ack(bogus)  # beyond what was sent, or not a number: ignored
    assert credit.blocked
    waiter = asyncio.ensure_future(credit.wait())
    credit.ack(6)  # before the waiter has run once: it must not miss it
    await asyncio.wait_for(waiter, 1.0)
    assert not credit.blocked

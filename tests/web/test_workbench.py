"""The web COP as a working tool (issue 15), in chromium against a real server and pytak.

One server for the module (trilateral scenario, TLS CoT listener) and one pytak client on
mutual TLS as a US principal, as ATAK would connect. Chat and drawings go both ways
between the page and pytak; replay shows an earlier position, and a NOFORN item only to
the US user. Screenshots go to test-artifacts/screenshots/.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from tests.support.cot import direct_chat, iso, pli
from tests.web.browser import Cop, Tab, screenshot, seek, skip_without_browser, symbol
from tests.web.tak import TakThread

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]
skip_without_browser()

from playwright.sync_api import Page  # noqa: E402
from playwright.sync_api import expect as pw_expect  # noqa: E402

REL_JPN = "SECRET//REL TO USA, JPN"


def options(page: Page, testid: str, signed_in: str) -> list[str]:
    """The picker's options once the signed-in user's list is there (``signed_in`` is one
    of them; until then the picker may still hold the list of the anonymous page)."""
    select = page.get_by_test_id(testid)
    pw_expect(select.locator("option", has_text=signed_in).first).to_be_attached(timeout=15000)
    return [o.strip() for o in select.locator("option").all_inner_texts()]


def test_chat_between_the_page_and_a_tak_client(
    open_page: Callable[..., Tab], cop: Cop, tak: TakThread
) -> None:
    # The PHL user (CONFIDENTIAL) is offered nothing above CONFIDENTIAL, and a SECRET
    # marking forced into the picker is refused by the server, with the reason shown.
    agila = open_page("AGILA").page
    agila.get_by_test_id("tab-chat").click()
    offered = options(agila, "chat-marking", "PHL CONFIDENTIAL//REL TO USA, PHL")
    assert (
        offered[0] == "UNCLASSIFIED"
        and agila.get_by_test_id("chat-marking").input_value() == "UNCLASSIFIED"
    )
    assert "PHL CONFIDENTIAL//REL TO USA, PHL" in offered
    assert not [o for o in offered if re.match(r"(PHL )?(SECRET|TOP SECRET)", o)], offered
    agila.get_by_test_id("chat-marking").evaluate(
        "(s) => { s.add(new Option('SECRET//REL TO USA, PHL', 'SECRET//REL TO USA, PHL')); "
        "s.value = 'SECRET//REL TO USA, PHL'; }"
    )
    agila.get_by_test_id("chat-text").fill("above my clearance")
    agila.get_by_test_id("chat-send").click()
    pw_expect(agila.get_by_test_id("chat-error")).to_contain_text("clearance", timeout=10000)

    page = open_page("EAGLE").page
    page.get_by_test_id("tab-chat").click()
    assert "TOP SECRET" not in " ".join(options(page, "chat-marking", REL_JPN))
    page.get_by_test_id("chat-marking").select_option(REL_JPN)
    page.get_by_test_id("chat-text").fill("web to tak: convoy at 0600")
    page.get_by_test_id("chat-send").click()
    heard = tak.wait_for(lambda e: e.type == "b-t-f" and e.remarks == "web to tak: convoy at 0600")
    assert heard.access == "SECRET" and heard.chat is not None
    assert heard.chat.chatroom == "All Chat Rooms" and heard.chat.sender_callsign == "EAGLE"
    # FEEDER's phone answers EAGLE directly: it reaches EAGLE's page, nobody else's.
    tak.send(direct_chat("feeder-phone", "FEEDER", "web.EAGLE", "EAGLE", "tak to web: copy"))
    room = page.get_by_test_id("chat-room-FEEDER")
    pw_expect(room).to_be_visible(timeout=15000)
    room.click()
    message = page.get_by_test_id("chat-message").filter(has_text="tak to web: copy")
    pw_expect(message).to_be_visible()
    pw_expect(message.get_by_test_id("chat-portion")).to_have_text("(U)")
    screenshot(page, "workbench-chat")
    # /api/v1/chat reads the history, which the writer commits in batches (0.25 s, longer
    # on a busy machine): wait for the public message, then the DM must not be there.
    deadline = time.monotonic() + 15
    while True:
        listed = cop.api("GET", "/api/v1/chat", cop.tokens["SAKURA"])["messages"]
        texts = [m["text"] for m in listed]
        if "web to tak: convoy at 0600" in texts or time.monotonic() > deadline:
            break
        time.sleep(0.25)
    assert "web to tak: convoy at 0600" in texts and "tak to web: copy" not in texts


def polygon_from_tak(uid: str, now: datetime) -> bytes:
    ring = [(18.30, 121.20), (18.55, 121.45), (18.30, 121.70), (18.05, 121.45), (18.30, 121.20)]
    links = "".join(f"<link point='{lat},{lon}'/>" for lat, lon in ring)
    return (
        f"<event version='2.0' uid='{uid}' type='u-d-f' time='{iso(now)}' start='{iso(now)}' "
        f"stale='{iso(now + timedelta(hours=1))}' how='h-e'><point lat='18.3' lon='121.45' "
        f"hae='9999999.0' ce='9999999.0' le='9999999.0'/><detail>{links}"
        "<labels_on value='false'/><contact callsign='TAK SECTOR'/><remarks>from ATAK</remarks>"
        "<strokeColor value='-65536'/><strokeWeight value='4.0'/><fillColor value='-1761607681'/>"
        "<archive/></detail></event>"
    ).encode()


def test_a_polygon_goes_both_ways(open_page: Callable[..., Tab], cop: Cop, tak: TakThread) -> None:
    page = open_page("EAGLE").page
    page.get_by_test_id("tool-polygon").click()
    box = page.get_by_test_id("map").bounding_box()
    assert box is not None
    cx, cy = box["x"] + box["width"] * 0.62, box["y"] + box["height"] * 0.55
    for dx, dy in ((0, -60), (70, 0), (0, 60), (-70, 0)):
        page.mouse.click(cx + dx, cy + dy)
        page.wait_for_timeout(400)  # clicks, not a double click
    page.get_by_test_id("draw-finish").click()
    page.get_by_test_id("draw-callsign").fill("AO WEB")
    page.get_by_test_id("draw-remarks").fill("drawn on the web")
    page.get_by_test_id("draw-save").click()
    drawn = tak.wait_for(lambda e: e.type == "u-d-f" and e.callsign == "AO WEB")
    assert drawn.detail is not None
    points = [c.get("point") for c in drawn.detail if c.tag == "link" and c.get("point")]
    assert len(points) == 5 and points[0] == points[-1], points
    assert drawn.remarks == "drawn on the web" and drawn.access == "UNCLASSIFIED"
    # One sent by the TAK client appears on the page, drawn from its points.
    tak.send(polygon_from_tak("tak-poly", datetime.now(UTC)))
    # Close enough that it is not clustered with the web's polygon and the phone (clusters
    # up to zoom 7): its own symbol, and its outline, are on the map.
    page.evaluate("() => { location.hash = '#9/18.3/121.45'; }")
    shape = symbol(page, "tak-poly")
    pw_expect(shape).to_be_attached(timeout=15000)
    shape.dispatch_event("click")
    details = page.get_by_test_id("details-panel")
    pw_expect(details).to_contain_text("TAK SECTOR")
    pw_expect(details.locator('[data-field="shape"]')).to_have_text(re.compile(r"5 "))
    screenshot(page, "workbench-polygon")


def test_a_marker_is_placed_edited_and_deleted_as_atak_expects(
    open_page: Callable[..., Tab], tak: TakThread
) -> None:
    page = open_page("EAGLE").page
    page.evaluate("() => { location.hash = '#9/17.2/121.2'; }")  # clear of the other items
    page.get_by_test_id("tool-marker").click()
    box = page.get_by_test_id("map").bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] * 0.45, box["y"] + box["height"] * 0.5)
    # The 2525 picker fills the CoT type: hostile armour is a-h-G-U-C-A.
    page.get_by_test_id("draw-affiliation").select_option("h")
    page.get_by_test_id("draw-function").select_option("G-U-C-A")
    pw_expect(page.get_by_test_id("draw-type")).to_have_text("a-h-G-U-C-A")
    page.get_by_test_id("draw-callsign").fill("ENEMY ARMOUR")
    page.get_by_test_id("draw-save").click()
    placed = tak.wait_for(lambda e: e.callsign == "ENEMY ARMOUR")
    assert placed.type == "a-h-G-U-C-A" and placed.access == "UNCLASSIFIED"
    marker = symbol(page, placed.uid)
    pw_expect(marker).to_be_attached(timeout=15000)
    pw_expect(marker).to_have_attribute("data-sidc", "SHGPUCA--------")
    # Edited from the details panel: the same uid, moved to a new callsign.
    marker.dispatch_event("click")
    page.get_by_test_id("details-edit").click()
    page.get_by_test_id("draw-callsign").fill("ENEMY ARMOUR 2")
    page.get_by_test_id("draw-save").click()
    edited = tak.wait_for(lambda e: e.callsign == "ENEMY ARMOUR 2")
    assert edited.uid == placed.uid and edited.type == "a-h-G-U-C-A"
    # Deleted: TAK clients get the t-x-d-d naming it, and the page drops it.
    symbol(page, placed.uid).dispatch_event("click")
    page.get_by_test_id("details-delete").click()
    deleted = tak.wait_for(lambda e: e.type == "t-x-d-d" and placed.uid in e.link_uids)
    assert deleted.link_uids == (placed.uid,)
    pw_expect(symbol(page, placed.uid)).to_have_count(0, timeout=15000)
    screenshot(page, "workbench-marker")


def test_replay_shows_the_past_as_it_was_released(open_page: Callable[..., Tab], cop: Cop) -> None:
    then = datetime.now(UTC) - timedelta(minutes=20)
    cop.send_tls(
        "FEEDER",
        pli("REPLAY-1", "REPLAY ONE", 16.0, 121.0, when=then, stale_s=7200),
        pli(
            "REPLAY-NF",
            "REPLAY NF",
            26.0,
            128.0,
            when=then,
            stale_s=7200,
            marking=("SECRET", "NOFORN", None),
        ),
        pli("REPLAY-1", "REPLAY ONE", 19.0, 123.0, when=then + timedelta(minutes=10), stale_s=7200),
    )
    moment = then + timedelta(minutes=5)
    for who, sees_noforn in (("EAGLE", True), ("SAKURA", False)):
        page = open_page(who).page
        page.get_by_test_id("replay-toggle").click()
        seek(page, moment)
        track = symbol(page, "REPLAY-1")
        pw_expect(track).to_be_attached(timeout=15000)
        track.dispatch_event("click")
        pw_expect(page.get_by_test_id("details-panel").locator('[data-field="lat"]')).to_have_text(
            "16.00000"
        )
        noforn = symbol(page, "REPLAY-NF")
        banner = page.get_by_test_id("banner-top")
        if sees_noforn:
            pw_expect(noforn).to_be_attached(timeout=15000)
            pw_expect(banner).to_have_text("SECRET//NOFORN", timeout=15000)
        else:
            pw_expect(banner).not_to_have_text(re.compile("NOFORN|MARKING UNKNOWN"), timeout=15000)
            pw_expect(noforn).to_have_count(0)
        screenshot(page, f"workbench-replay-{who}")
        # Back to live: the track is where it is now.
        page.get_by_test_id("replay-toggle").click()
        track.dispatch_event("click")
        pw_expect(page.get_by_test_id("details-panel").locator('[data-field="lat"]')).to_have_text(
            "19.00000"
        )

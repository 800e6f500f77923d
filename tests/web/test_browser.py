"""The web COP in Debian's chromium, driven by Playwright, against a real allied-c2 server.

The server runs as a subprocess on free ports with the trilateral scenario; CoT goes in
over TCP (public items) and over mutual TLS as a US principal (classified items, which the
server refuses from anonymous plain-TCP senders). Every test saves a screenshot under
test-artifacts/screenshots/.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from allied_c2.security.markings import parse_banner, rollup
from tests.support.cot import iso
from tests.web.browser import Cop, Tab, event, screenshot, skip_without_browser, symbol

pytestmark = pytest.mark.browser
skip_without_browser()

from playwright.sync_api import expect as pw_expect  # noqa: E402


def test_page_loads_without_console_errors(open_page: Callable[..., Tab], cop: Cop) -> None:
    tab = open_page()
    page = tab.page
    pw_expect(page.get_by_test_id("banner-top")).to_have_text(re.compile(r"\S"))
    pw_expect(page.get_by_test_id("command-tree").locator(".org-row").first).to_be_visible(
        timeout=10000
    )
    page.get_by_test_id("tab-requests").click()
    pw_expect(page.get_by_test_id("clock-tokyo")).to_contain_text(re.compile(r"\d\d:\d\d"))
    page.get_by_test_id("tab-readiness").click()
    pw_expect(page.get_by_test_id("readiness-grid")).to_be_visible()
    page.get_by_test_id("tab-tree").click()
    page.wait_for_timeout(1500)  # late errors: basemap fetch, WebGL, stream frames
    screenshot(page, "page-loads")
    assert tab.errors == []
    assert tab.foreign == [], "the page must not reach beyond its own server"


def test_symbols_appear_and_move(open_page: Callable[..., Tab], cop: Cop) -> None:
    tab = open_page("EAGLE")
    page = tab.page
    cop.send_plain(event("WEB-MOVER", 16.0, 121.0, callsign="MOVER 1", course=45.0))
    mover = symbol(page, "WEB-MOVER")
    pw_expect(mover).to_be_visible(timeout=10000)
    before = mover.bounding_box()
    assert before is not None
    assert mover.get_attribute("data-sidc") == "SFGPUCI--------"
    cop.send_plain(event("WEB-MOVER", 18.0, 124.0, callsign="MOVER 1", course=45.0))

    def moved() -> bool:
        box = mover.bounding_box()
        return box is not None and box["x"] - before["x"] > 20 and before["y"] - box["y"] > 20

    deadline = time.monotonic() + 10
    while not moved() and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    screenshot(page, "symbols-move")
    assert moved(), f"symbol did not move north-east: {before} -> {mover.bounding_box()}"
    mover.click()
    details = page.get_by_test_id("details-panel")
    pw_expect(details).to_contain_text("MOVER 1")
    pw_expect(details.locator('[data-field="lat"]')).to_have_text("18.00000")
    pw_expect(page.get_by_test_id("details-portion")).to_have_text("(U)")


def test_stale_items_fade_then_go(open_page: Callable[..., Tab], cop: Cop) -> None:
    tab = open_page("EAGLE")
    page = tab.page
    # Born 20 s ago, stale in 15 s: a 35 s life fades in its last 7 s (the page's 20 %),
    # so the faded state lasts long enough to be seen on a loaded machine, where the
    # map's software renderer can take over a second per frame (a 6 s life faded for
    # 1.2 s, and a CI run saw the symbol go without ever showing it faded).
    cop.send_plain(
        event("WEB-SHORT", 20.0, 130.0, callsign="SHORT", cot_type="a-u-S", stale_s=15, age_s=20)
    )
    short = symbol(page, "WEB-SHORT")
    pw_expect(short).to_be_visible(timeout=5000)
    pw_expect(short).not_to_have_class(re.compile(r"\bfading\b"))
    # What is checked is the order, fade then go; the timeouts allow for a loaded machine.
    pw_expect(short).to_have_class(re.compile(r"\bfading\b"), timeout=15000)
    screenshot(page, "stale-fading")
    pw_expect(short).to_have_count(0, timeout=15000)


def _feed_classified(cop: Cop) -> None:
    cop.send_tls(
        "FEEDER",
        event(
            "WEB-NOFORN",
            26.2,
            128.6,
            callsign="NF SHIP",
            cot_type="a-f-S-C-L-C-C",
            course=200.0,
            marking=("SECRET", "NOFORN", None),
        ),
        event(
            "WEB-RELJPN",
            33.5,
            135.0,
            callsign="REL SHIP",
            cot_type="a-f-S-C-L-D-D",
            course=90.0,
            marking=("SECRET", "REL TO", "USA JPN"),
        ),
    )


def test_jpn_user_does_not_see_noforn_item_us_user_sees(
    open_page: Callable[..., Tab], cop: Cop
) -> None:
    _feed_classified(cop)
    us = open_page("EAGLE")
    jp = open_page("SAKURA")
    pw_expect(symbol(us.page, "WEB-NOFORN")).to_be_visible(timeout=10000)
    pw_expect(symbol(us.page, "WEB-RELJPN")).to_be_visible()
    pw_expect(symbol(jp.page, "WEB-RELJPN")).to_be_visible(timeout=10000)
    # A live update of the NOFORN item must not reach the JPN browser either.
    cop.send_tls(
        "FEEDER",
        event(
            "WEB-NOFORN",
            26.4,
            128.8,
            callsign="NF SHIP",
            cot_type="a-f-S-C-L-C-C",
            marking=("SECRET", "NOFORN", None),
        ),
    )
    us.page.wait_for_timeout(1500)
    screenshot(us.page, "release-us")
    screenshot(jp.page, "release-jpn")
    assert symbol(jp.page, "WEB-NOFORN").count() == 0
    assert "NF SHIP" not in jp.page.content()
    symbol(us.page, "WEB-NOFORN").click()
    pw_expect(us.page.get_by_test_id("details-portion")).to_have_text("(S//NF)")


def _expected_banner(cop: Cop, token: str | None) -> str:
    """The server's own roll-up of what the page shows: the picture and the command tree."""
    picture = cop.api("GET", "/api/v1/picture", token)
    structure = cop.api("GET", "/api/v1/structure", token)
    parts = [
        parse_banner(item["marking"]["banner"]).with_originator(item["marking"]["originator"])
        for item in picture["items"]
    ]
    if structure.get("banner"):
        parts.append(parse_banner(structure["banner"]))
    return rollup(parts).banner()


def test_banner_shows_roll_up_of_what_is_on_screen(open_page: Callable[..., Tab], cop: Cop) -> None:
    _feed_classified(cop)
    cases = [("EAGLE", "NOFORN"), ("SAKURA", "SECRET//REL TO USA, JPN"), (None, "UNCLASSIFIED")]
    for callsign, must_contain in cases:
        tab = open_page(callsign)
        page = tab.page
        token = cop.tokens[callsign] if callsign else None
        if callsign:
            pw_expect(symbol(page, "WEB-RELJPN")).to_be_visible(timeout=10000)
        pw_expect(page.get_by_test_id("command-tree").locator(".org-row").first).to_be_visible()
        expected = _expected_banner(cop, token)
        top, bottom = page.get_by_test_id("banner-top"), page.get_by_test_id("banner-bottom")
        pw_expect(top).to_have_text(expected)
        pw_expect(bottom).to_have_text(expected)
        assert must_contain in expected
        level_class = {"SECRET": "mk-s", "UNCLASSIFIED": "mk-u"}[expected.split("//")[0]]
        pw_expect(top).to_have_class(re.compile(level_class))
        screenshot(page, f"banner-{(callsign or 'anonymous').lower()}")


def test_readiness_grid_renders(open_page: Callable[..., Tab], cop: Cop) -> None:
    now = datetime.now(UTC)
    # SAKURA's organisation (JJOC) commands the Ground Component Command.
    cop.api(
        "POST",
        "/api/v1/readiness",
        cop.tokens["SAKURA"],
        {
            "unit": "gcc",
            "p": 1,
            "s": 2,
            "r": 3,
            "t": 2,
            "reported_at": iso(now),
            "marking": "SECRET//REL TO USA, JPN",
            "mets": [{"task": "Littoral sea denial", "rating": "Q"}],
        },
    )
    tab = open_page("SAKURA")
    page = tab.page
    page.get_by_test_id("tab-readiness").click()
    grid = page.get_by_test_id("readiness-grid")
    pw_expect(grid).to_be_visible()
    row = page.get_by_test_id("readiness-row-gcc")
    pw_expect(row).to_be_visible(timeout=10000)
    pw_expect(page.get_by_test_id("readiness-level-gcc")).to_have_text("C-3")
    pw_expect(row.locator("td.area")).to_have_text(["1", "2", "3", "2"])
    pw_expect(row.locator("td.clevel").first).to_have_class(re.compile(r"\blvl-3\b"))
    pw_expect(page.get_by_test_id("rollup-nations")).to_be_visible()
    screenshot(page, "readiness-grid")


def _listed(body: Any) -> list[dict[str, Any]]:
    return list(body if isinstance(body, list) else body.get("requests", []))


def _request_at_decision(cop: Cop) -> tuple[str, str, str]:
    """File a request and forward it until its holder may approve.

    Returns (request id, holder organisation, callsign of a commander there)."""
    nations = {
        o["id"]: o["nation"]
        for o in cop.api("GET", "/api/v1/structure", cop.tokens["EAGLE"])["organisations"]
    }
    filed = cop.api(
        "POST",
        "/api/v1/requests",
        cop.tokens["SAKURA"],
        {
            "kind": "logistics_support",
            "originator": "gcc",
            "urgency": "priority",
            "subject": "Fuel for relief flights at Clark (web test)",
            "marking": "SECRET//REL TO USA, JPN",
            "needed_by": iso(datetime.now(UTC) + timedelta(hours=6)),
        },
    )
    request_id = str(filed["id"])
    for hop in range(10):
        listed = _listed(cop.api("GET", "/api/v1/requests", cop.tokens["EAGLE"]))
        holder = next(r for r in listed if r["id"] == request_id)["holder"]
        callsign = f"HOLDER{hop}"
        token = cop.add_user(
            callsign, nations.get(holder, "USA"), "SECRET", org=holder, roles=("commander",)
        )
        seen = next(
            r for r in _listed(cop.api("GET", "/api/v1/requests", token)) if r["id"] == request_id
        )
        if "approve" in seen["allowed_actions"]:
            return request_id, holder, callsign
        assert "forward" in seen["allowed_actions"], f"stuck at {holder}: {seen}"
        cop.api(
            "POST",
            f"/api/v1/requests/{request_id}/actions",
            token,
            {"action": "forward", "reason": "forwarded by the browser test"},
        )
    raise AssertionError(f"request {request_id} never reached a decider")


def test_request_approved_from_board_by_allowed_user_only(
    open_page: Callable[..., Tab], cop: Cop
) -> None:
    request_id, holder, approver = _request_at_decision(cop)
    # Neither may approve: SAKURA (JJOC) is an operator, EAGLE (USFJ) is no party to it.
    assert holder != "usfj", f"a JPN logistics request should not be held by USFJ: {holder}"
    others = {name: open_page(name) for name in ("SAKURA", "EAGLE")}
    for name, other in others.items():
        other.page.get_by_test_id("tab-requests").click()
        card = other.page.get_by_test_id(f"request-card-{request_id}")
        pw_expect(card).to_be_visible(timeout=10000)
        pw_expect(card.get_by_test_id(f"request-holder-{request_id}")).not_to_have_text("—")
        assert card.get_by_test_id(f"action-approve-{request_id}").count() == 0, name
    assert (
        others["EAGLE"].page.locator(f'[data-testid="request-card-{request_id}"] .action').count()
        == 0
    )
    screenshot(others["EAGLE"].page, "request-not-allowed")

    tab = open_page(approver)  # a commander of the organisation that holds the request
    page = tab.page
    page.get_by_test_id("tab-requests").click()
    card = page.get_by_test_id(f"request-card-{request_id}")
    pw_expect(card).to_be_visible(timeout=10000)
    page.get_by_test_id(f"action-approve-{request_id}").click()
    pw_expect(page.get_by_test_id(f"request-card-{request_id}")).to_have_attribute(
        "data-state", "approved", timeout=10000
    )
    screenshot(page, "request-approved")
    # The other principals' boards follow over the stream.
    for other in others.values():
        pw_expect(other.page.get_by_test_id(f"request-card-{request_id}")).to_have_attribute(
            "data-state", "approved", timeout=10000
        )


def test_command_tree_selection_highlights_on_map(open_page: Callable[..., Tab], cop: Cop) -> None:
    tab = open_page("EAGLE")
    page = tab.page
    tree = page.get_by_test_id("command-tree")
    usfj = page.get_by_test_id("org-usfj")
    pw_expect(usfj).to_be_visible(timeout=10000)
    pw_expect(usfj).to_contain_text("USA")
    # Relationships and decision authorities are shown, not just the hierarchy.
    pw_expect(tree.locator(".rel").first).to_be_visible()
    pw_expect(tree.locator(".authority").first).to_be_visible()
    pw_expect(tree).to_contain_text("OPCON")
    usfj.click()
    pulse = page.get_by_test_id("org-pulse")
    pw_expect(pulse).to_have_attribute("data-org", "usfj")
    page.wait_for_timeout(2500)  # let the map fly there
    ring = pulse.locator(".ring").bounding_box()
    map_box = page.get_by_test_id("map").bounding_box()
    assert ring is not None and map_box is not None
    # Centred on the organisation: the pulse sits in the middle of the map.
    centre = (ring["x"] + ring["width"] / 2, ring["y"] + ring["height"] / 2)
    assert abs(centre[0] - (map_box["x"] + map_box["width"] / 2)) < 40, (centre, map_box)
    assert abs(centre[1] - (map_box["y"] + map_box["height"] / 2)) < 40, (centre, map_box)
    screenshot(page, "command-tree-highlight")

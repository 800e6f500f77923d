"""The page banner for NATO, Japanese and Philippine levels is the server's roll-up.

The page has no marking parser of its own (issue 9): it asks the server
(``POST /api/v1/markings/rollup``) for the roll-up of what it shows, so a
``JPN 秘`` item is marked ``JPN HI`` in CONFIDENTIAL blue, not UNCLASSIFIED.
The scenario here is three UNCLASSIFIED headquarters, so the items decide the banner.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from allied_c2.security.display import display_class
from allied_c2.security.markings import Marking, parse_banner, rollup
from tests.support.server import ServerProcess
from tests.web.browser import Cop, Tab, event, screenshot, skip_without_browser, symbol

pytestmark = pytest.mark.browser
skip_without_browser()

from playwright.sync_api import Page  # noqa: E402
from playwright.sync_api import expect as pw_expect  # noqa: E402

SCENARIO = """\
name: banner-levels
description: One UNCLASSIFIED headquarters per nation, so that the items decide the banner.
marking: UNCLASSIFIED
request_kinds: []
organisations:
  - {id: us-hq, name: "US headquarters", nation: USA, kind: joint_command, echelon: command,
     timezone: Asia/Tokyo, location: {lat: 35.7, lon: 139.3}}
  - {id: jp-hq, name: "JSDF headquarters", nation: JPN, kind: joint_command, echelon: command,
     timezone: Asia/Tokyo, location: {lat: 35.69, lon: 139.73}}
  - {id: ph-hq, name: "AFP headquarters", nation: PHL, kind: joint_command, echelon: command,
     timezone: Asia/Manila, location: {lat: 14.61, lon: 121.06}}
"""

# Who sends and views what: each item stays with its nation (no REL TO), except the
# NATO SECRET one, which NATO members (the USA) receive.
NATO_ITEM = ("BL-NATO", "NATO SECRET")
JPN_ITEM = ("BL-JPN", "秘")  # the shipped policy's alias of JPN HI (≈ CONFIDENTIAL)
PHL_ITEM = ("BL-PHL", "PHL CONFIDENTIAL")


@pytest.fixture(scope="module")
def cop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cop]:
    data_dir = tmp_path_factory.mktemp("banner-levels")
    scenario = data_dir.parent / "banner-levels.yaml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    server = ServerProcess(data_dir, "--scenario", str(scenario), tls=True)
    cop = Cop(server)
    cop.add_user("FEEDER", "USA", "SECRET", org="us-hq", roles=("operator",))  # creates the CA
    with ThreadPoolExecutor(max_workers=3) as pool:
        started = pool.submit(server.start)
        added = [
            pool.submit(cop.add_user, "HANA", "JPN", "SECRET", org="jp-hq", roles=("operator",)),
            pool.submit(
                cop.add_user, "BAYANI", "PHL", "CONFIDENTIAL", org="ph-hq", roles=("operator",)
            ),
        ]
        started.result()
        for future in added:
            future.result()
    try:
        yield cop
    finally:
        server.stop()


def _send(
    cop: Cop,
    sender: str,
    uid: str,
    access: str,
    caveat: str | None = None,
    releasable_to: str | None = None,
    *,
    lat: float,
    lon: float,
) -> None:
    marking = (access, caveat, releasable_to)
    cop.send_tls(sender, event(uid, lat, lon, callsign=uid, cot_type="a-f-S-C", marking=marking))


def _server_banner(cop: Cop, token: str) -> Marking:
    """The server library's roll-up of what the page shows: the picture and the tree."""
    picture = cop.api("GET", "/api/v1/picture", token)
    structure = cop.api("GET", "/api/v1/structure", token)
    parts = [
        parse_banner(item["marking"]["banner"]).with_originator(item["marking"]["originator"])
        for item in picture["items"]
    ]
    parts.append(parse_banner(structure["banner"]))
    return rollup(parts)


def _check_banner(page: Page, expected: Marking) -> None:
    top, bottom = page.get_by_test_id("banner-top"), page.get_by_test_id("banner-bottom")
    css = re.compile(rf"\b{display_class(expected)}\b")
    for banner in (top, bottom):
        pw_expect(banner).to_have_text(expected.banner(), timeout=10000)
        pw_expect(banner).to_have_class(css)
    assert not expected.banner().startswith("UNCLASSIFIED")


def _details(page: Page, uid: str) -> Any:
    symbol(page, uid).click()
    return page.get_by_test_id("details-portion")


def test_nato_jpn_and_phl_levels_are_marked_as_the_server_marks_them(
    open_page: Callable[..., Tab], cop: Cop
) -> None:
    _send(cop, "FEEDER", *NATO_ITEM, lat=26.2, lon=128.6)
    _send(cop, "HANA", *JPN_ITEM, lat=33.5, lon=135.0)
    _send(cop, "BAYANI", *PHL_ITEM, lat=16.0, lon=121.0)
    cases = [
        ("FEEDER", NATO_ITEM[0], "NATO SECRET", "(NS)", "mk-s"),
        ("HANA", JPN_ITEM[0], "JPN HI", "(JPN HI)", "mk-c"),
        ("BAYANI", PHL_ITEM[0], "PHL CONFIDENTIAL", "(PHL C)", "mk-c"),
    ]
    for callsign, uid, banner, portion, css in cases:
        tab = open_page(callsign)
        page = tab.page
        pw_expect(symbol(page, uid)).to_be_visible(timeout=10000)
        pw_expect(page.get_by_test_id("command-tree").locator(".org-row").first).to_be_visible()
        expected = _server_banner(cop, cop.tokens[callsign])
        assert (expected.banner(), display_class(expected)) == (banner, css)
        _check_banner(page, expected)
        details = _details(page, uid)
        pw_expect(details).to_have_text(portion)
        pw_expect(details).to_have_class(re.compile(rf"\b{css}\b"))
        pw_expect(page.get_by_test_id("map-portion")).to_have_text(portion)
        screenshot(page, f"banner-level-{callsign.lower()}")
        assert tab.errors == [], tab.errors


def test_mixed_national_levels_roll_up_on_the_server(
    open_page: Callable[..., Tab], cop: Cop
) -> None:
    # Bilateral items of each nation's own scheme, all releasable to the US viewer.
    _send(cop, "FEEDER", *NATO_ITEM, lat=26.2, lon=128.6)
    _send(cop, "HANA", "BL-JPN-REL", "極秘", "REL TO", "USA JPN", lat=34.0, lon=136.0)
    _send(cop, "BAYANI", "BL-PHL-REL", "PHL CONFIDENTIAL", "REL TO", "USA PHL", lat=15.0, lon=120.5)
    tab = open_page("FEEDER")
    page = tab.page
    for uid in (NATO_ITEM[0], "BL-JPN-REL", "BL-PHL-REL"):
        pw_expect(symbol(page, uid)).to_be_visible(timeout=10000)
    expected = _server_banner(cop, cop.tokens["FEEDER"])
    # NATO SECRET beside JPN GOKUHI is SECRET in the common scheme; what the parts share
    # is the USA alone, which a US-scheme SECRET without REL TO already means.
    assert expected.banner() == "SECRET"
    _check_banner(page, expected)
    pw_expect(_details(page, "BL-JPN-REL")).to_have_text("(JPN GOKUHI//REL TO USA, JPN)")
    pw_expect(page.get_by_test_id("details-portion")).to_have_class(re.compile(r"\bmk-s\b"))
    screenshot(page, "banner-levels-mixed")
    assert tab.errors == [], tab.errors


def test_page_fails_closed_when_the_server_cannot_mark(
    open_page: Callable[..., Tab], cop: Cop
) -> None:
    _send(cop, "FEEDER", *NATO_ITEM, lat=26.2, lon=128.6)
    tab = open_page("FEEDER")
    page = tab.page
    pw_expect(symbol(page, NATO_ITEM[0])).to_be_visible(timeout=10000)
    # A view (after the page's initial fit) at which the new item is not clustered with the
    # others (clusters up to zoom 7, 44 px): its own symbol shows that it reached the page.
    page.evaluate("() => { location.hash = '#5/24/133'; }")
    pw_expect(symbol(page, NATO_ITEM[0])).to_be_visible(timeout=10000)
    pw_expect(page.get_by_test_id("banner-top")).not_to_have_text("MARKING UNKNOWN")
    # The roll-up route is unreachable: a new set of markings on screen shows MARKING UNKNOWN.
    page.route("**/api/v1/markings/rollup", lambda route: route.abort())
    _send(cop, "FEEDER", "BL-NEW", "NATO CONFIDENTIAL", lat=21.0, lon=136.0)
    pw_expect(symbol(page, "BL-NEW")).to_be_visible(timeout=10000)
    top = page.get_by_test_id("banner-top")
    pw_expect(top).to_have_text("MARKING UNKNOWN")
    pw_expect(top).to_have_class(re.compile(r"\bmk-ts\b"))
    screenshot(page, "banner-levels-unknown")

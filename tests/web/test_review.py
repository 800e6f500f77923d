"""Reviewing and marking up the picture in chromium (issue 15): replay, export, drawings, filters.

The module's server and pytak client are conftest's ``cop`` (trilateral scenario, TLS CoT
listener) and ``tak`` (FEEDER's phone on mutual TLS, as ATAK connects). Pages are opened
with ``?test=1``, so the map's own sources and what maplibre drew can be read
(``window.alliedTest``, frontend/src/testhook.ts): every check is on what the page shows or
on the CoT pytak received, never on what the test itself set. ATAK's drawings are read at
run time from the shared interoperability corpus (../shared/interop/cot-corpus/), never
copied here; the drawing test is skipped, saying so, without it.
"""

from __future__ import annotations

import csv
import io
import math
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.support.cot import iso, pli
from tests.support.server import ROOT
from tests.web.browser import Cop, Tab, event, screenshot, seek, skip_without_browser, symbol
from tests.web.tak import TakThread

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]
skip_without_browser()

from playwright.sync_api import Page  # noqa: E402
from playwright.sync_api import expect as pw_expect  # noqa: E402

CORPUS = ROOT.parent / "shared" / "interop" / "cot-corpus"
HOOK = "/?test=1"
EARTH_M = 6371008.8


def source(page: Page, name: str) -> list[dict[str, Any]]:
    """The features the page's GeoJSON source ``name`` holds now."""
    data = page.evaluate("(name) => window.alliedTest.source(name)", name)
    assert data is not None, f"the page has no source {name!r}"
    features: list[dict[str, Any]] = data["features"]
    return features


def features_of(page: Page, name: str, uid: str) -> list[dict[str, Any]]:
    return [f for f in source(page, name) if f["properties"].get("uid") == uid]


def eventually(page: Page, check: Callable[[], Any], timeout: float = 20.0) -> Any:
    """``check()`` once it is truthy (asked again every 200 ms of the page's time)."""
    deadline = time.monotonic() + timeout
    while not (result := check()):
        assert time.monotonic() < deadline, "the page never got there"
        page.wait_for_timeout(200)
    return result


def trail_ok(feature: dict[str, Any]) -> bool:
    return (
        feature["geometry"]["type"] == "LineString" and len(feature["geometry"]["coordinates"]) >= 2
    )


def rendered(page: Page, layers: list[str]) -> list[dict[str, Any]]:
    """What maplibre drew on ``layers`` in the current view (layer, uid, geometry type)."""
    drawn: list[dict[str, Any]] = page.evaluate(
        "(layers) => window.alliedTest.rendered(layers)", layers
    )
    return drawn


def metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance between two (lon, lat) points."""
    lon1, lat1, lon2, lat2 = map(math.radians, (*a, *b))
    s = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_M * math.asin(math.sqrt(s))


def go(page: Page, zoom: float, lat: float, lon: float) -> None:
    """Put the map at zoom/lat/lon (the URL's view) and let it settle there."""
    page.evaluate(f"() => {{ location.hash = '#{zoom}/{lat}/{lon}'; }}")
    page.wait_for_function(
        """([z, lat, lon]) => {
          const [hz, hlat, hlon] = location.hash.slice(1).split('/').map(Number);
          const near = (a, b, d) => Math.abs(a - b) < d;
          return near(hz, z, 0.01) && near(hlat, lat, 1e-3) && near(hlon, lon, 1e-3);
        }""",
        arg=[zoom, lat, lon],
    )
    page.wait_for_timeout(800)


# --- replay: play speed and trails ---------------------------------------------------------


def clock_rate(page: Page, wall_ms: int = 3200) -> float:
    """Replayed seconds per wall-clock second, from the page's replay clock (its changes
    over ``wall_ms``, timed in the page)."""
    changes: list[list[float]] = page.evaluate(
        """async (wall) => {
          const el = document.querySelector('[data-testid="replay-time"]');
          const out = [];
          let last = el.dataset.at;
          const t0 = performance.now();
          while (performance.now() - t0 < wall) {
            await new Promise((r) => setTimeout(r, 20));
            if (el.dataset.at !== last) {
              last = el.dataset.at;
              out.push([performance.now(), Date.parse(last)]);
            }
          }
          return out;
        }""",
        wall_ms,
    )
    assert len(changes) >= 2, f"the replay clock hardly moved: {changes}"
    (wall0, shown0), (wall1, shown1) = changes[0], changes[-1]
    return (shown1 - shown0) / (wall1 - wall0)


def play_at(page: Page, speed: str, start: datetime) -> float:
    page.get_by_test_id("replay-speed").select_option(speed)
    seek(page, start)
    play = page.get_by_test_id("replay-play")
    play.click()
    pw_expect(play).to_have_text("⏸")
    try:
        return clock_rate(page)
    finally:
        play.click()  # pause
        pw_expect(play).to_have_text("▶")


def test_replay_plays_at_sixty_times_and_draws_a_trail(
    open_page: Callable[..., Tab], cop: Cop
) -> None:
    then = datetime.now(UTC) - timedelta(minutes=30)
    moves = [(16.0 + 0.1 * k, 126.0 + 0.1 * k) for k in range(5)]
    cop.send_tls(
        "FEEDER",
        *(
            pli(
                "REVIEW-MOVER",
                "MOVER",
                lat,
                lon,
                when=then + timedelta(minutes=2 * k),
                stale_s=7200,
            )
            for k, (lat, lon) in enumerate(moves)
        ),
    )
    tab = open_page("EAGLE", HOOK + "#8/16.2/126.2")
    page = tab.page
    page.get_by_test_id("replay-toggle").click()
    start = then + timedelta(seconds=30)
    slow = play_at(page, "1", start)
    fast = play_at(page, "60", start)
    assert 0.4 <= slow <= 2.5, slow
    assert 30 <= fast <= 120, fast
    assert fast / slow >= 15, (slow, fast)

    # Playing again at 60x from half a minute after the first report: within seconds the
    # replayed moment passes the second report and the track's trail has two points.
    seek(page, start)
    page.get_by_test_id("replay-play").click()
    trail = eventually(
        page, lambda: [f for f in features_of(page, "trails", "REVIEW-MOVER") if trail_ok(f)]
    )
    page.get_by_test_id("replay-play").click()  # pause where the trail is
    assert len(trail) == 1 and trail[0]["geometry"]["type"] == "LineString"
    points = trail[0]["geometry"]["coordinates"]
    fed = [[lon, lat] for lat, lon in moves]
    assert len(points) >= 2 and all(
        any(math.isclose(p[0], f[0]) and math.isclose(p[1], f[1]) for f in fed) for p in points
    ), points
    shown = page.get_by_test_id("replay-time").get_attribute("data-at")
    assert shown is not None
    assert datetime.fromisoformat(shown.replace("Z", "+00:00")) >= then + timedelta(minutes=2)
    eventually(page, lambda: "REVIEW-MOVER" in {d["uid"] for d in rendered(page, ["trail-line"])})
    screenshot(page, "review-replay-trail")
    assert tab.errors == [], tab.errors


# --- export ------------------------------------------------------------------------------


def download(page: Page, button: str) -> str:
    with page.expect_download(timeout=15000) as info:
        page.get_by_test_id(button).click()
    path = info.value.path()
    assert path is not None
    return Path(path).read_text(encoding="utf-8")


def csv_rows(text: str) -> list[dict[str, str]]:
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    return list(csv.DictReader(io.StringIO("\n".join(lines))))


def test_kml_and_csv_export_of_a_replay_window(open_page: Callable[..., Tab], cop: Cop) -> None:
    then = datetime.now(UTC) - timedelta(minutes=40)
    inside = [(15.1, 124.1), (15.2, 124.2), (15.3, 124.3)]
    later = (15.9, 124.9)  # reported after the exported moment
    cop.send_tls(
        "FEEDER",
        *(
            pli("EXPORT-1", "EXPORT ONE", lat, lon, when=then + timedelta(minutes=k), stale_s=7200)
            for k, (lat, lon) in enumerate(inside)
        ),
        pli(
            "EXPORT-NF",
            "EXPORT NF",
            15.5,
            124.5,
            when=then + timedelta(minutes=1),
            stale_s=7200,
            marking=("SECRET", "NOFORN", None),
        ),
        pli("EXPORT-1", "EXPORT ONE", *later, when=then + timedelta(minutes=20), stale_s=7200),
    )
    moment = then + timedelta(minutes=10)
    for who, sees_noforn in (("EAGLE", True), ("SAKURA", False)):
        page = open_page(who).page
        page.get_by_test_id("replay-toggle").click()
        seek(page, moment)
        kml = download(page, "replay-export-kml")
        text = download(page, "replay-export-csv")
        rows = csv_rows(text)

        # KML: one gx:Track for the track, its positions of the window (lon lat hae).
        track = re.search(r"<Placemark>(?:(?!</Placemark>).)*EXPORT-1.*?</Placemark>", kml, re.S)
        assert track is not None, kml
        coords = re.findall(r"<gx:coord>(\S+) (\S+) \S+</gx:coord>", track.group(0))
        assert [(float(lat), float(lon)) for lon, lat in coords] == inside, coords
        # CSV: one row per report, oldest first, each with its portion marking.
        mine = [r for r in rows if r["uid"] == "EXPORT-1"]
        assert [(float(r["lat"]), float(r["lon"])) for r in mine] == inside, mine
        assert {r["marking"] for r in mine} == {"(U)"}
        if sees_noforn:
            assert "EXPORT-NF" in kml and "NOFORN" in kml
            assert [r["marking"] for r in rows if r["uid"] == "EXPORT-NF"] == ["(S//NF)"]
            assert text.startswith("# SECRET//NOFORN")
        else:
            assert "EXPORT-NF" not in kml and "NOFORN" not in kml, kml
            assert "EXPORT-NF" not in text and "NOFORN" not in text, text
    screenshot(page, "review-export")


# --- drawings from ATAK, and a circle from the web ----------------------------------------


def from_corpus(name: str, uid: str, extra_rings: int = 0) -> bytes:
    """An ATAK drawing of the shared corpus, as ATAK sent it, under a fresh uid and times
    (the captures are years old: stale). ``extra_rings`` adds the ellipses that ATAK's
    DrawingCircle writes for range rings (one per ring, radius × ring)."""
    path = CORPUS / name
    if not path.exists():
        pytest.skip(f"the shared interop corpus is not here ({path} is missing)")
    xml = path.read_text(encoding="utf-8")
    old = re.search(r"uid=['\"]([^'\"]+)['\"]", xml)
    assert old is not None
    xml = xml.replace(old.group(1), uid)
    now = datetime.now(UTC)
    for attr, when in (("time", now), ("start", now), ("stale", now + timedelta(hours=2))):
        xml = re.sub(rf"\b{attr}=(['\"])[^'\"]*\1", f"{attr}='{iso(when)}'", xml, count=1)
    if extra_rings:
        ellipse = re.search(r"<ellipse major='([\d.]+)' minor='[\d.]+' angle='360'/>", xml)
        assert ellipse is not None
        radius = float(ellipse.group(1))
        more = "".join(
            f"<ellipse major='{radius * k}' minor='{radius * k}' angle='360'/>"
            for k in range(2, extra_rings + 2)
        )
        xml = xml.replace(ellipse.group(0), ellipse.group(0) + more)
    return xml.encode()


def corpus_point(name: str) -> tuple[float, float, list[tuple[float, float]], list[float]]:
    """lat, lon, link points (lat, lon) and ellipse radii of a corpus drawing."""
    xml = (CORPUS / name).read_text(encoding="utf-8")
    point = re.search(r"<point lat=['\"]([-\d.]+)['\"] lon=['\"]([-\d.]+)['\"]", xml)
    assert point is not None
    links = [
        (float(a), float(b))
        for a, b in re.findall(r"<link point=['\"]([-\d.]+),([-\d.]+)(?:,[-\d.]+)?['\"]", xml)
    ]
    radii = [float(r) for r in re.findall(r"<ellipse major=['\"]([\d.]+)['\"]", xml)]
    return float(point.group(1)), float(point.group(2)), links, radii


RECTANGLE = "cotshrink__u-d-r__rectangle-3d-points-height.xml"
CIRCLE = "atak-dp__u-d-c-c__drawing-circle.xml"
BULLSEYE = "freetaktest__u-r-b-bullseye__bullseye-wintak-rings.xml"
BEARING_LINE = "atak-dp__u-rb-a__range-bearing-line.xml"


def ring_radii(feature: dict[str, Any], centre: tuple[float, float]) -> list[float]:
    return [metres(centre, (p[0], p[1])) for p in feature["geometry"]["coordinates"][0]]


def test_atak_drawings_are_drawn_and_a_web_circle_reaches_tak(
    open_page: Callable[..., Tab], tak: TakThread
) -> None:
    tak.send(from_corpus(RECTANGLE, "review-rect"))
    tak.send(from_corpus(CIRCLE, "review-circle"))
    tak.send(from_corpus(CIRCLE, "review-rings", extra_rings=2))
    _, _, corners, _ = corpus_point(RECTANGLE)
    clat, clon, _, (radius,) = corpus_point(CIRCLE)
    tab = open_page("EAGLE", HOOK + f"#14/{clat}/{clon}")
    page = tab.page
    eventually(
        page,
        lambda: all(
            features_of(page, "shapes", u) for u in ("review-rect", "review-circle", "review-rings")
        ),
    )
    # The rectangle: one closed polygon on ATAK's four corners.
    (rect,) = features_of(page, "shapes", "review-rect")
    assert rect["geometry"]["type"] == "Polygon"
    ring = rect["geometry"]["coordinates"][0]
    assert ring[0] == ring[-1] and len(ring) == 5, ring
    for (lon, lat), (want_lat, want_lon) in zip(ring[:4], corners, strict=True):
        assert math.isclose(lat, want_lat, abs_tol=1e-7) and math.isclose(
            lon, want_lon, abs_tol=1e-7
        )
    # The circle: one ring, every point of it at ATAK's radius from the centre.
    (circle,) = features_of(page, "shapes", "review-circle")
    distances = ring_radii(circle, (clon, clat))
    assert all(math.isclose(d, radius, rel_tol=0.005) for d in distances), distances
    # Range rings: one ring per ellipse, at 1, 2 and 3 times the radius.
    rings = features_of(page, "shapes", "review-rings")
    got = sorted(sum(r) / len(r) for r in (ring_radii(f, (clon, clat)) for f in rings))
    assert len(got) == 3 and all(
        math.isclose(g, radius * k, rel_tol=0.005) for g, k in zip(got, (1, 2, 3), strict=True)
    ), got
    # ATAK's range-and-bearing tools: WinTAK's bullseye with its range ring, and a bearing
    # line from its point (the server reads their geometry; cot/drawing.py).
    tak.send(from_corpus(BULLSEYE, "review-bullseye"))
    tak.send(from_corpus(BEARING_LINE, "review-bearing"))
    eventually(page, lambda: features_of(page, "shapes", "review-bearing"))
    blat, blon, _, _ = corpus_point(BULLSEYE)
    bullseye = eventually(page, lambda: features_of(page, "shapes", "review-bullseye"))
    got = sorted(sum(r) / len(r) for r in (ring_radii(f, (blon, blat)) for f in bullseye))
    assert len(got) == 2 and math.isclose(got[0], 100.0, rel_tol=0.005), got  # ring every 100 m
    assert math.isclose(got[1], 521.03, rel_tol=0.005), got  # the bullseye's edge
    (bearing,) = features_of(page, "shapes", "review-bearing")
    assert bearing["geometry"]["type"] == "LineString"
    start, end = bearing["geometry"]["coordinates"]
    assert math.isclose(metres(tuple(start), tuple(end)), 886.14, rel_tol=0.005)
    # ...and maplibre drew them here (outline layer), as it drew the rectangle there.
    eventually(
        page,
        lambda: (
            {"review-circle", "review-rings"} <= {d["uid"] for d in rendered(page, ["shape-line"])}
        ),
    )
    screenshot(page, "review-atak-circles")
    rlat = sum(c[0] for c in corners) / 4
    rlon = sum(c[1] for c in corners) / 4
    go(page, 14, round(rlat, 5), round(rlon, 5))
    page.wait_for_function(
        "() => window.alliedTest.rendered(['shape-line']).some((d) => d.uid === 'review-rect')"
    )
    screenshot(page, "review-atak-rectangle")

    # A circle drawn on the web: its centre, then a point on its edge 120 px east.
    zoom, lat, lon = 10.0, 20.5, 135.0  # open ocean, clear of every item
    go(page, zoom, lat, lon)
    page.get_by_test_id("tool-circle").click()
    box = page.get_by_test_id("map").bounding_box()
    assert box is not None
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.click(cx, cy)
    page.wait_for_timeout(400)  # two clicks, not a double click
    page.mouse.click(cx + 120, cy)
    shown = page.get_by_test_id("draw-radius")
    pw_expect(shown).to_be_visible()
    # Web Mercator with maplibre's 512 px tiles: metres per pixel at this zoom and latitude.
    expected = 120 * 2 * math.pi * EARTH_M * math.cos(math.radians(lat)) / (512 * 2**zoom)
    offered = float(shown.input_value())
    assert math.isclose(offered, expected, rel_tol=0.05), (offered, expected)
    page.get_by_test_id("draw-callsign").fill("WEB CIRCLE")
    page.get_by_test_id("draw-save").click()
    drawn_cot = tak.wait_for(lambda e: e.callsign == "WEB CIRCLE")
    assert drawn_cot.type == "u-d-c-c" and drawn_cot.detail is not None
    shape = next(c for c in drawn_cot.detail if c.tag == "shape")
    majors = [float(e.get("major") or 0) for e in shape.iter("ellipse")]
    assert len(majors) == 1 and math.isclose(majors[0], offered, abs_tol=1.0), majors
    assert math.isclose(drawn_cot.lat, lat, abs_tol=0.01)
    assert math.isclose(drawn_cot.lon, lon, abs_tol=0.01)
    assert tab.errors == [], tab.errors


# --- filters -----------------------------------------------------------------------------


def only(page: Page, group: str, keep: str) -> None:
    """Select ``keep`` alone in the filter ``group``: every other box of it unchecked."""
    for box in page.locator(f"[data-testid^='filter-{group}-']").all():
        if box.get_attribute("data-testid") != f"filter-{group}-{keep}":
            box.uncheck()


def clear(page: Page, group: str) -> None:
    for box in page.locator(f"[data-testid^='filter-{group}-']").all():
        box.check()


def test_nation_and_marking_filters_hide_the_others(
    open_page: Callable[..., Tab], cop: Cop
) -> None:
    # A US and a JPN unclassified item, and a US SECRET one, apart at zoom 9.
    cop.send_tls("FEEDER", event("FILTER-US", 24.0, 131.0, callsign="FILTER US"))
    cop.send_tls("SAKURA", event("FILTER-JP", 24.0, 131.4, callsign="FILTER JP"))
    cop.send_tls(
        "FEEDER",
        event(
            "FILTER-S", 24.3, 131.2, callsign="FILTER S", marking=("SECRET", "REL TO", "USA JPN")
        ),
    )
    page = open_page("EAGLE", "/#9/24.15/131.2").page
    uids = ("FILTER-US", "FILTER-JP", "FILTER-S")
    for uid in uids:
        pw_expect(symbol(page, uid)).to_be_attached(timeout=15000)
    # What the server recorded (the page filters on its marking, never re-marks).
    picture = {
        i["uid"]: i["marking"]
        for i in cop.api("GET", "/api/v1/picture", cop.tokens["EAGLE"])["items"]
        if i["uid"] in uids
    }
    assert picture["FILTER-US"]["originator"] == "USA", picture
    assert picture["FILTER-JP"]["originator"] == "JPN", picture
    assert picture["FILTER-S"]["class"] == "mk-s" and picture["FILTER-US"]["class"] == "mk-u"

    page.get_by_test_id("filter-toggle").click()
    only(page, "nation", "JPN")
    pw_expect(symbol(page, "FILTER-US")).to_have_count(0, timeout=15000)
    pw_expect(symbol(page, "FILTER-S")).to_have_count(0)
    pw_expect(symbol(page, "FILTER-JP")).to_be_attached()
    screenshot(page, "review-filter-nation")
    clear(page, "nation")
    for uid in uids:
        pw_expect(symbol(page, uid)).to_be_attached(timeout=15000)

    only(page, "class", "mk-s")
    pw_expect(symbol(page, "FILTER-US")).to_have_count(0, timeout=15000)
    pw_expect(symbol(page, "FILTER-JP")).to_have_count(0)
    pw_expect(symbol(page, "FILTER-S")).to_be_attached()
    screenshot(page, "review-filter-marking")
    clear(page, "class")
    for uid in uids:
        pw_expect(symbol(page, uid)).to_be_attached(timeout=15000)
    # Unclassified only: the SECRET item leaves the map and the map's roll-up (the
    # server's), which was SECRET with it.
    portion = page.get_by_test_id("map-portion")
    pw_expect(portion).to_have_text(re.compile(r"^\(S"), timeout=15000)
    only(page, "class", "mk-u")
    pw_expect(symbol(page, "FILTER-S")).to_have_count(0, timeout=15000)
    pw_expect(symbol(page, "FILTER-US")).to_be_attached()
    pw_expect(portion).to_have_text("(U)", timeout=15000)
    clear(page, "class")
    pw_expect(symbol(page, "FILTER-S")).to_be_attached(timeout=15000)

"""The web COP on `allied-c2 demo`: reading a dense map, and the Japanese interface.

One demo for the module (the trilateral disaster-relief exercise, tracks moving at 30x).
Labels around northern Luzon, where the exercise crowds two dozen tracks, must not
overlap: maplibre's collision detection drops the ones that would, and the boxes of the
labels it placed are checked here. The Japanese interface must have no English left
outside data (names, callsigns and markings are marked ``translate="no"``).
With ALLIED_C2_README_IMAGES=1 the screenshots also replace docs/img/ (README).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest

from tests.web.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    README_VIEWPORT,
    screenshot,
    skip_without_browser,
)
from tests.web.demo import DemoProcess, keep_for_readme

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]
skip_without_browser()

from playwright.sync_api import Browser, FloatRect, Page  # noqa: E402
from playwright.sync_api import expect as pw_expect  # noqa: E402

LUZON = "#8.2/17.75/121.55"  # zoom/lat/lon: Cagayan Valley, Aparri and the Luzon Strait
# Words that are the same in a Japanese interface: the product, file formats, units.
KEPT = {"ALLIED", "KML", "CSV", "SIDC", "UID"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoProcess]:
    running = DemoProcess(tmp_path_factory.mktemp("demo") / "demo").start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(autouse=True)
def close_pages(chromium: Browser) -> Iterator[None]:
    """Each test's pages close after it: a headless page keeps drawing the live demo
    (the software renderer at up to 15 frames a second), so pages left open by the
    earlier tests would take the CPU from the later ones."""
    yield
    for context in chromium.contexts:
        context.close()


def signed_in(chromium: Browser, demo: DemoProcess, who: str, path: str = "/") -> Page:
    page = chromium.new_context(viewport=README_VIEWPORT).new_page()  # type: ignore[arg-type]
    page.goto(demo.url + path, timeout=120000)
    page.get_by_test_id("signin-token").fill(demo.tokens[who], timeout=60000)
    page.get_by_test_id("signin-submit").click()
    pw_expect(page.get_by_test_id("whoami")).to_contain_text(who, timeout=30000)
    # The page has started again as this user (the anonymous picture and panels are gone).
    pw_expect(page.get_by_test_id("stream-status")).to_have_attribute(
        "data-principal", who, timeout=30000
    )
    return page


def overlap(a: FloatRect, b: FloatRect) -> float:
    width = min(a["x"] + a["width"], b["x"] + b["width"]) - max(a["x"], b["x"])
    height = min(a["y"] + a["height"], b["y"] + b["height"]) - max(a["y"], b["y"])
    return max(width, 0) * max(height, 0)


def test_luzon_labels_do_not_overlap_and_clusters_expand(
    chromium: Browser, demo: DemoProcess
) -> None:
    page = signed_in(chromium, demo, "USFJ-CDR")
    # The initial view fits what the user sees: a theatre view, dense areas clustered.
    cluster = page.locator("[data-testid^=cluster-]").first
    pw_expect(cluster).to_be_attached(timeout=30000)
    assert int(cluster.get_attribute("data-count") or 0) >= 2
    screenshot(page, "cop-live-theatre")
    zoom = page.evaluate("() => Number(location.hash.slice(1).split('/')[0])")
    cluster.dispatch_event("click")  # a cluster expands on click
    page.wait_for_function(f"() => Number(location.hash.slice(1).split('/')[0]) > {zoom}")
    page.evaluate(f"() => {{ location.hash = '{LUZON}'; }}")
    labels = page.locator("[data-testid^=label-]")
    pw_expect(labels.nth(4)).to_be_attached(timeout=30000)
    page.wait_for_timeout(2500)  # let the map settle and the stand-ins follow
    boxes = {str(el.get_attribute("data-testid")): el.bounding_box() for el in labels.all()}
    placed = {name: box for name, box in boxes.items() if box is not None}
    assert len(placed) >= 5, placed
    names = sorted(placed)
    clashes = [
        (a, b, overlap(placed[a], placed[b]))
        for i, a in enumerate(names)
        for b in names[i + 1 :]
        if overlap(placed[a], placed[b]) > 1.0
    ]
    assert clashes == [], clashes
    symbols = page.locator("[data-testid^=symbol-]").count()
    assert symbols >= len(placed)  # every symbol is drawn; labels only where they fit
    keep_for_readme(screenshot(page, "cop-live"))


def test_search_flies_to_a_track_and_the_filters_hide_by_affiliation(
    chromium: Browser, demo: DemoProcess
) -> None:
    page = signed_in(chromium, demo, "USFJ-CDR")
    uid = "DEMO-PHL-S70-2041"  # PAF 2041, a PHL helicopter REL TO USA, JPN, PHL
    search = page.get_by_test_id("search-input")
    hit = page.get_by_test_id(f"search-result-item-{uid}")
    for _ in range(30):  # the demo's picture reaches the page within seconds
        search.fill("PAF 2041")
        if hit.is_visible():
            break
        page.wait_for_timeout(500)
    hit.click()
    # It flies there (zoom 9 at least) and selects the track.
    page.wait_for_function("() => Number(location.hash.slice(1).split('/')[0]) >= 8.9")
    pw_expect(page.get_by_test_id("details-panel")).to_contain_text("PAF 2041")
    track = page.get_by_test_id(f"symbol-{uid}")
    pw_expect(track).to_be_attached(timeout=15000)
    # Friends off: the track leaves the map (and the count), and comes back.
    count = page.get_by_test_id("track-count")
    before = int((count.inner_text().split() or ["0"])[0])
    page.get_by_test_id("filter-toggle").click()
    page.get_by_test_id("filter-affiliation-friend").uncheck()
    pw_expect(track).to_have_count(0, timeout=15000)
    pw_expect(count).not_to_have_text(re.compile(rf"^{before}\b"))
    page.get_by_test_id("filter-affiliation-friend").check()
    pw_expect(track).to_be_attached(timeout=15000)
    screenshot(page, "cop-search-filter")


def test_replay_screenshot(chromium: Browser, demo: DemoProcess) -> None:
    page = signed_in(chromium, demo, "USFJ-CDR", "/" + LUZON.replace("8.2", "6.6"))
    page.get_by_test_id("replay-toggle").click()
    slider = page.get_by_test_id("replay-slider")
    pw_expect(slider).to_be_visible()
    # Back into the demo's history (which starts with the demo): up to ten seconds, five
    # minutes of exercise at 30x, trails on.
    back = max(2, min(10, int((time.time() - demo.started) / 2)))
    slider.evaluate(
        "(s, back) => { s.value = String(Math.max(0, Number(s.max) - back)); "
        "s.dispatchEvent(new Event('input', {bubbles: true})); }",
        back,
    )
    pw_expect(page.get_by_test_id("replay-bar")).to_have_attribute("data-at", re.compile("T"))
    # The replayed moment is on the map: tracks (not none), drawn.
    pw_expect(page.get_by_test_id("track-count")).to_have_text(re.compile(r"^[1-9]"), timeout=30000)
    pw_expect(page.locator("[data-testid^=symbol-]").first).to_be_attached(timeout=30000)
    page.wait_for_timeout(2500)
    pw_expect(page.get_by_test_id("banner-top")).not_to_have_text("MARKING UNKNOWN")
    keep_for_readme(screenshot(page, "cop-replay"))


def english_left(page: Page) -> list[str]:
    """Visible interface text (and placeholders, labels) with English words in it."""
    found: list[str] = page.evaluate(
        """() => {
          const out = [];
          const skip = (el) => el.closest('[translate="no"], [aria-hidden="true"], .hidden, script, style');
          const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
          for (let n = walker.nextNode(); n; n = walker.nextNode()) {
            const el = n.parentElement;
            if (!el || skip(el) || !n.textContent.trim()) continue;
            if (el.getClientRects().length === 0 && el.tagName !== 'OPTION') continue;
            out.push(n.textContent.trim());
          }
          for (const el of document.querySelectorAll('[placeholder], [aria-label]')) {
            if (skip(el)) continue;
            for (const a of ['placeholder', 'aria-label']) if (el.getAttribute(a)) out.push(el.getAttribute(a));
          }
          return out;
        }"""
    )
    english = re.compile(r"[A-Za-z]{3,}")
    return [text for text in found if {w.upper() for w in english.findall(text)} - KEPT]


def test_the_japanese_interface_has_no_untranslated_string(
    chromium: Browser, demo: DemoProcess
) -> None:
    page = signed_in(chromium, demo, "JJOC-CDR", "/?lang=ja" + LUZON)
    pw_expect(page.get_by_test_id("tab-tree")).to_have_text("指揮系統")
    leftovers: list[str] = []
    page.locator("[data-testid^=symbol-]").first.dispatch_event("click")
    pw_expect(page.get_by_test_id("details-panel")).to_be_visible()
    leftovers += english_left(page)
    for tab in ("requests", "readiness", "chat", "packages", "tree"):
        page.get_by_test_id(f"tab-{tab}").click()
        page.wait_for_timeout(800)
        leftovers += english_left(page)
    page.get_by_test_id("filter-toggle").click()
    page.get_by_test_id("replay-toggle").click()
    leftovers += english_left(page)
    page.get_by_test_id("replay-toggle").click()
    page.get_by_test_id("tool-marker").click()
    box = page.get_by_test_id("map").bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] * 0.7, box["y"] + box["height"] * 0.3)
    pw_expect(page.get_by_test_id("draw-form")).to_be_visible()
    leftovers += english_left(page)
    keep_for_readme(screenshot(page, "cop-japanese"))
    assert sorted(set(leftovers)) == [], sorted(set(leftovers))
    # The choice is remembered for this user: a plain reload stays in Japanese.
    page.goto(demo.url + "/")
    pw_expect(page.get_by_test_id("tab-tree")).to_have_text("指揮系統", timeout=30000)

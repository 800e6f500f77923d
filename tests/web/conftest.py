"""Browser fixtures for the web tests (Playwright driving Debian's chromium).

``open_page`` needs a ``cop`` fixture (the server under test): the one here is the
trilateral scenario with a TLS CoT listener and four principals (test_workbench.py,
test_review.py); a module that needs another server defines its own ``cop``. ``tak`` is
a pytak client on mutual TLS as FEEDER, as ATAK would connect. Playwright is imported
only when a browser test runs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import pytest

from tests.support.cot import pli
from tests.support.server import ROOT, ServerProcess
from tests.web.browser import CHROMIUM, CHROMIUM_ARGS, VIEWPORT, Cop, Tab
from tests.web.tak import TakThread

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, ConsoleMessage


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


TRILATERAL = ROOT / "scenarios" / "trilateral-hadr.yaml"


@pytest.fixture(scope="module")
def cop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cop]:
    """One server per module: the trilateral scenario, a TLS CoT listener, and FEEDER
    (US operator, sends over TLS), EAGLE (US commander), SAKURA (JPN), AGILA (PHL)."""
    data_dir = tmp_path_factory.mktemp("trilateral")
    server = ServerProcess(data_dir, "--scenario", str(TRILATERAL), tls=True)
    cop = Cop(server)
    cop.add_user("FEEDER", "USA", "SECRET", org="usfj", roles=("operator",))
    with ThreadPoolExecutor(max_workers=4) as pool:
        started = pool.submit(server.start, 120.0)  # a shared 2-core machine can be slow
        added = [
            pool.submit(cop.add_user, "EAGLE", "USA", "SECRET", org="usfj", roles=("commander",)),
            pool.submit(cop.add_user, "SAKURA", "JPN", "SECRET", org="jjoc", roles=("operator",)),
            pool.submit(
                cop.add_user, "AGILA", "PHL", "CONFIDENTIAL", org="afp", roles=("operator",)
            ),
        ]
        started.result()
        for future in added:
            future.result()
    try:
        yield cop
    finally:
        server.stop()


@pytest.fixture(scope="module")
def tak(cop: Cop) -> Iterator[TakThread]:
    """FEEDER's phone: a pytak client on mutual TLS that has sent its position."""
    host, port = cop.server.address("cot_tls")
    client = TakThread(host, port, cop.server.data_dir / "certs", "FEEDER")
    client.send(pli("feeder-phone", "FEEDER", 17.6, 121.7, stale_s=3600))
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def open_page(browser: Browser, cop: Cop) -> Iterator[Callable[..., Tab]]:
    """Open the COP in a fresh context (own sessionStorage), signed in as ``callsign``;
    ``path`` is what follows the origin (``/?test=1`` installs the page's test hook)."""
    from playwright.sync_api import expect as pw_expect

    contexts: list[BrowserContext] = []

    def opener(callsign: str | None = None, path: str = "/") -> Tab:
        context = browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
        contexts.append(context)
        page = context.new_page()
        errors: list[str] = []

        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error":
                errors.append(f"console: {message.text} @ {message.location}")

        page.on("console", on_console)
        page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
        foreign: list[str] = []
        ws_url = cop.url.replace("http", "ws", 1)
        origin = re.compile(rf"^(?:{re.escape(cop.url)}|{re.escape(ws_url)})/|^(?:data|blob):")
        page.on("request", lambda req: None if origin.match(req.url) else foreign.append(req.url))
        page.goto(cop.url + path)
        pw_expect(page.get_by_test_id("stream-status")).to_have_attribute(
            "data-state", "live", timeout=15000
        )
        if callsign:
            page.get_by_test_id("signin-token").fill(cop.tokens[callsign])
            page.get_by_test_id("signin-submit").click()
            pw_expect(page.get_by_test_id("whoami")).to_contain_text(callsign)
            # Live again, and as this user: the stream's hello named the new principal.
            status = page.get_by_test_id("stream-status")
            pw_expect(status).to_have_attribute("data-principal", callsign, timeout=15000)
            pw_expect(status).to_have_attribute("data-state", "live", timeout=15000)
        return Tab(page, errors, foreign)

    yield opener
    for context in contexts:
        context.close()

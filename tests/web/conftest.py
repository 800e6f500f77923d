"""Browser fixtures for the web tests (Playwright driving Debian's chromium).

``open_page`` needs a ``cop`` fixture (the server under test), which each browser test
module defines for itself; Playwright is imported only when a browser test runs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pytest

from tests.web.browser import CHROMIUM, CHROMIUM_ARGS, VIEWPORT, Cop, Tab

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


@pytest.fixture
def open_page(browser: Browser, cop: Cop) -> Iterator[Callable[..., Tab]]:
    """Open the COP in a fresh context (own sessionStorage), signed in as ``callsign``."""
    from playwright.sync_api import expect as pw_expect

    contexts: list[BrowserContext] = []

    def opener(callsign: str | None = None) -> Tab:
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
        page.goto(cop.url + "/")
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

"""What the browser tests share: the server under test, CoT to feed it, pages, screenshots.

The fixtures that use these (``browser``, ``open_page``) are in ``conftest.py``; each
test module defines its own module-scoped ``cop`` (the server and its principals) and
starts with ``skip_without_browser()``.
"""

from __future__ import annotations

import json
import re
import socket
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.support.cot import client_tls, iso
from tests.support.server import ROOT, ServerProcess, add_user, cli

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

CHROMIUM = Path("/usr/bin/chromium")
STATIC_INDEX = ROOT / "src" / "allied_c2" / "web" / "static" / "index.html"
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# A staff laptop's window. Chromium draws the map's WebGL with its software renderer here,
# whose cost is per pixel: at 1600 x 1000 an open page cost about twice the CPU.
VIEWPORT = {"width": 1280, "height": 800}
# The README's screenshots (tests/web/test_demo_cop.py): a desktop monitor's window.
README_VIEWPORT = {"width": 1600, "height": 1000}


def skip_without_browser() -> None:
    """Skip the calling test module, with the reason, when chromium or the page is missing."""
    if not CHROMIUM.exists():
        pytest.skip(
            "Debian chromium not installed at /usr/bin/chromium (run scripts/ensure-chromium.sh)",
            allow_module_level=True,
        )
    if not STATIC_INDEX.exists():
        pytest.skip(
            "the web COP is not built (run `make frontend`: cd frontend && npm ci && npm run "
            "build)",
            allow_module_level=True,
        )


@dataclass
class Cop:
    """The running server, its principals' tokens, and ways to feed it CoT."""

    server: ServerProcess
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.server.url

    def add_user(
        self,
        callsign: str,
        nation: str,
        clearance: str,
        *,
        org: str | None = None,
        roles: tuple[str, ...] = (),
    ) -> str:
        add_user(self.server.data_dir, callsign, nation, clearance, roles=roles, org=org)
        out = cli("token", "create", callsign, "--data-dir", str(self.server.data_dir)).stdout
        lines = (line.strip() for line in out.splitlines())
        token = next(line for line in lines if re.fullmatch(r"\S{16,}", line))
        self.tokens[callsign] = token
        return token

    def send_plain(self, *events: bytes) -> None:
        """Public items over plain TCP, as an anonymous TAK client sends them."""
        with socket.create_connection(self.server.address("cot_tcp"), timeout=5) as sock:
            for event in events:
                sock.sendall(event)
            time.sleep(0.3)  # let the relay read before the connection closes

    def send_tls(self, name: str, *events: bytes, certs: Path | None = None) -> None:
        """Items over mutual TLS as the principal ``name`` (its certificate from `user add`,
        in the data dir's ``certs`` unless ``certs`` names another folder)."""
        context = client_tls(certs or self.server.data_dir / "certs", name)
        host, port = self.server.address("cot_tls")
        with (
            socket.create_connection((host, port), timeout=5) as raw,
            context.wrap_socket(raw, server_hostname=host) as sock,
        ):
            for event in events:
                sock.sendall(event)
            time.sleep(0.3)

    def api(self, method: str, path: str, token: str | None, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.url}{path}", data=data, method=method)
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=10) as resp:
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")
            raise AssertionError(f"{method} {path} -> HTTP {exc.code}: {detail}") from None


def event(
    uid: str,
    lat: float,
    lon: float,
    *,
    callsign: str,
    cot_type: str = "a-f-G-U-C-I",
    course: float = 0.0,
    stale_s: float = 600,
    age_s: float = 0,
    marking: tuple[str | None, str | None, str | None] = (None, None, None),
) -> bytes:
    """One PLI; `age_s` back-dates its time and start (its life is age_s + stale_s)."""
    now = datetime.now(UTC)
    born = now - timedelta(seconds=age_s)
    attrs = "".join(
        f' {name}="{value}"'
        for name, value in zip(("access", "caveat", "releasableTo"), marking, strict=True)
        if value is not None
    )
    return (
        f'<event version="2.0" uid="{uid}" type="{cot_type}" how="m-g" time="{iso(born)}" '
        f'start="{iso(born)}" stale="{iso(now + timedelta(seconds=stale_s))}"{attrs}>'
        f'<point lat="{lat}" lon="{lon}" hae="10" ce="10" le="10"/>'
        f'<detail><contact callsign="{callsign}"/><__group name="Cyan" role="Team Member"/>'
        f'<track course="{course}" speed="6.0"/></detail></event>'
    ).encode()


@dataclass
class Tab:
    page: Page
    errors: list[str]
    foreign: list[str]  # requests that left the server's origin (there must be none)


def screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


def symbol(page: Page, uid: str) -> Locator:
    return page.get_by_test_id(f"symbol-{uid}")


def seek(page: Page, when: datetime) -> None:
    """Move the replay slider to ``when`` (a range input cannot be typed into)."""
    from playwright.sync_api import expect as pw_expect

    slider = page.get_by_test_id("replay-slider")
    pw_expect(slider).to_be_visible()
    start = datetime.fromisoformat(str(slider.get_attribute("data-start")).replace("Z", "+00:00"))
    seconds = int((when - start).total_seconds())
    slider.evaluate(
        "(s, v) => { s.value = String(v); s.dispatchEvent(new Event('input', {bubbles: true})); }",
        seconds,
    )
    pw_expect(page.get_by_test_id("replay-bar")).to_have_attribute(
        "data-at", re.compile(when.strftime("%Y-%m-%dT%H:%M")), timeout=15000
    )

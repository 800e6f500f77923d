"""The federation links view in chromium: two real servers, a link up, items and a refusal.

The US server dials the JPN server (each its own data dir, CA and federation
certificate, registered with the ``allied-c2 federate`` CLI as two administrators
would). A US operator sends one item releasable to JPN and one NOFORN item: the first
crosses the link, the guard refuses the second. The page of the US server's admin
shows the link as ``GET /api/v1/federation`` reports it (state, peer, counts,
refusals, backlog); an anonymous page has no federation tab.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.federation.support import Node, make_node, register, wait_for, wait_up
from tests.support.server import ROOT
from tests.web.browser import Cop, Tab, event, screenshot, skip_without_browser

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]
skip_without_browser()

from playwright.sync_api import expect as pw_expect  # noqa: E402

ADMIN = "usa-srv-admin"  # make_node's admin of the US server
# The US server holds a structure, so that the page's other panels have something to show.
SCENARIO = ("--scenario", str(ROOT / "scenarios" / "trilateral-hadr.yaml"))


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Node, Node]]:
    root: Path = tmp_path_factory.mktemp("federation-view")
    with ThreadPoolExecutor(max_workers=2) as pool:
        made = [
            pool.submit(
                make_node, root, "USA-SRV", "USA", [("us-ops", "USA", "SECRET")], *SCENARIO
            ),
            pool.submit(make_node, root, "JPN-SRV", "JPN", []),
        ]
        usa, jpn = (future.result() for future in made)
        try:
            for started in [pool.submit(node.server.start, 120.0) for node in (usa, jpn)]:
                started.result()
            register(jpn, usa, dial=False)
            register(usa, jpn, dial=True)
            wait_up(usa, "JPN-SRV")
            yield usa, jpn
        finally:
            for node in (usa, jpn):
                node.server.stop()
                node.close()


@pytest.fixture(scope="module")
def cop(nodes: tuple[Node, Node]) -> Cop:
    usa = nodes[0]
    return Cop(usa.server, {ADMIN: usa.admin_token})


def _send(usa: Node, uid: str, marking: tuple[str | None, str | None, str | None]) -> None:
    Cop(usa.server).send_tls(
        "us-ops", event(uid, 35.0, 139.0, callsign=uid, marking=marking), certs=usa.certs
    )


def test_the_admin_sees_each_link_as_the_server_reports_it(
    open_page: Callable[..., Tab], cop: Cop, nodes: tuple[Node, Node]
) -> None:
    usa, jpn = nodes
    anonymous = open_page().page
    pw_expect(anonymous.get_by_test_id("tab-federation")).to_be_hidden()

    _send(usa, "FED-REL", ("SECRET", "REL TO", "USA JPN"))
    _send(usa, "FED-NF", ("SECRET", "NOFORN", None))
    wait_for(lambda: jpn.rows("FED-REL"), 30, "the REL TO JPN item at the JPN server")

    def counted() -> dict[str, Any] | None:
        link = usa.links()["JPN-SRV"]
        return link if link["items_out"] >= 1 and sum(link["refusals"].values()) >= 1 else None

    wait_for(counted, 30, "the link's counters")
    tab = open_page(ADMIN)
    page = tab.page
    page.get_by_test_id("tab-federation").click()
    row = page.get_by_test_id("federation-link-JPN-SRV")
    pw_expect(row).to_have_attribute("data-state", "up", timeout=15000)
    # The page shows what the API says (read after the page did: the counters only grow).
    shown = {
        key: int(page.get_by_test_id(f"fed-{key}-JPN-SRV").inner_text())
        for key in ("out", "in", "refused")
    }
    link = usa.links()["JPN-SRV"]
    refused = sum(link["refusals"].values()) + sum(link["refused_in"].values())
    assert 1 <= shown["out"] <= link["items_out"]
    assert 0 <= shown["in"] <= link["items_in"]
    assert 1 <= shown["refused"] <= refused
    pw_expect(page.get_by_test_id("fed-state-JPN-SRV")).to_contain_text("up")
    pw_expect(page.get_by_test_id("fed-backlog-JPN-SRV")).to_have_text(
        re.compile(rf"^\d+ / {link['backlog']['limit']}$")
    )
    pw_expect(row).to_contain_text("JPN")
    pw_expect(page.get_by_test_id("fed-refused-JPN-SRV")).to_have_attribute(
        "title", re.compile(r"\S+: \d+")
    )
    screenshot(page, "federation-links")
    assert tab.errors == [], tab.errors

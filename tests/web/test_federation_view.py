"""The federation links view in chromium: two real servers, a link up, items and a refusal.

The US server dials the JPN server (each its own data dir, CA and federation
certificate, registered with the ``allied-c2 federate`` CLI as two administrators
would), the US side with a rule set that sends hostile NOFORN tracks to Japan as a
sanitised copy. A US operator sends one item releasable to JPN, one NOFORN item and one
hostile NOFORN track: the first crosses the link, the guard refuses the second, the rule
sanitises the third. The page of the US server's admin shows the link as
``GET /api/v1/federation`` reports it (state, peer, counts, refusals, backlog, and under
it the inbound refusals and discards by reason, the sanitised copies by rule and the rule
set's name); an anonymous page has no federation tab.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.federation.support import (
    HOSTILE_TRACKS_RULE,
    HOSTILE_TRACKS_RULES,
    Node,
    make_node,
    register,
    wait_for,
    wait_up,
)
from tests.support.server import ROOT
from tests.web.browser import Cop, Tab, event, screenshot, skip_without_browser

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]
skip_without_browser()

from playwright.sync_api import expect as pw_expect  # noqa: E402

ADMIN = "usa-srv-admin"  # make_node's admin of the US server
# The US server holds a structure, so that the page's other panels have something to show.
SCENARIO = ("--scenario", str(ROOT / "scenarios" / "trilateral-hadr.yaml"))
RULE = HOSTILE_TRACKS_RULE


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
            rules = root / "usa-to-jpn.toml"
            rules.write_text(HOSTILE_TRACKS_RULES)
            register(jpn, usa, dial=False)
            register(usa, jpn, dial=True, rules=rules)
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


def _send(
    usa: Node,
    uid: str,
    marking: tuple[str | None, str | None, str | None],
    cot_type: str = "a-f-G-U-C-I",
) -> None:
    item = event(uid, 35.0, 139.0, callsign=uid, marking=marking, cot_type=cot_type)
    Cop(usa.server).send_tls("us-ops", item, certs=usa.certs)


def test_the_admin_sees_each_link_as_the_server_reports_it(
    open_page: Callable[..., Tab], cop: Cop, nodes: tuple[Node, Node]
) -> None:
    usa, jpn = nodes
    anonymous = open_page().page
    pw_expect(anonymous.get_by_test_id("tab-federation")).to_be_hidden()

    _send(usa, "FED-REL", ("SECRET", "REL TO", "USA JPN"))
    _send(usa, "FED-NF", ("SECRET", "NOFORN", None))
    _send(usa, "FED-SAN", ("SECRET", "NOFORN", None), cot_type="a-h-G")
    wait_for(lambda: jpn.rows("FED-REL"), 30, "the REL TO JPN item at the JPN server")

    def counted() -> dict[str, Any] | None:
        link = usa.links()["JPN-SRV"]
        sent = link["items_out"] >= 1 and link["sanitised"].get(RULE, 0) >= 1
        return link if sent and sum(link["refusals"].values()) >= 1 else None

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
    inbound = {
        key: page.get_by_test_id(f"fed-{key}-JPN-SRV")
        for key in ("refusedin", "discarded", "sanitised")
    }
    parts = {
        key: {
            str(r.get_attribute("data-reason")): int(r.get_attribute("data-count") or -1)
            for r in counter.locator(".fed-reason").all()
        }
        for key, counter in inbound.items()
    }
    totals = {key: int(str(c.get_attribute("data-total"))) for key, c in inbound.items()}
    rules_shown = page.get_by_test_id("fed-rules-JPN-SRV")
    link = usa.links()["JPN-SRV"]
    assert 1 <= shown["out"] <= link["items_out"]
    assert 0 <= shown["in"] <= link["items_in"]
    assert 1 <= shown["refused"] <= sum(link["refusals"].values())
    # Under the link: each counter by reason (or rule) as the API has it, and its total.
    for key, api in (
        ("refusedin", "refused_in"),
        ("discarded", "discarded_in"),
        ("sanitised", "sanitised"),
    ):
        assert set(parts[key]) <= set(link[api]), (key, parts[key], link[api])
        assert all(n <= link[api][why] for why, n in parts[key].items()), (key, parts[key])
        assert totals[key] == sum(parts[key].values()), (key, totals[key], parts[key])
    assert parts["sanitised"].get(RULE, 0) >= 1, parts["sanitised"]
    pw_expect(inbound["sanitised"]).to_contain_text(f"{RULE}: ")
    pw_expect(rules_shown).to_contain_text(str(link["rules"]["file"]))
    assert link["rules"]["file"]  # the rule set registered with `federate add --rules`
    pw_expect(rules_shown).to_have_attribute(
        "title", re.compile(rf"^{link['rules']['count']} rules, SHA-256 {link['rules']['sha256']}$")
    )
    pw_expect(page.get_by_test_id("fed-state-JPN-SRV")).to_contain_text("up")
    pw_expect(page.get_by_test_id("fed-backlog-JPN-SRV")).to_have_text(
        re.compile(rf"^\d+ / {link['backlog']['limit']}$")
    )
    pw_expect(row).to_contain_text("JPN")
    pw_expect(page.get_by_test_id("fed-refused-JPN-SRV")).to_have_attribute(
        "title", re.compile(r"\S+: \d+")
    )
    # Requests and readiness across servers, by kind, as the API counts them.
    relayed = {
        key: int(str(page.get_by_test_id(f"fed-alliance-{key}").get_attribute("data-total")))
        for key in ("sent", "received")
    }
    alliance = usa.server.get_json("/api/v1/federation", usa.admin_token)["alliance"]
    for key, shown_total in relayed.items():
        assert 0 <= shown_total <= sum(alliance[key].values()), (key, shown_total, alliance)
    screenshot(page, "federation-links")
    assert tab.errors == [], tab.errors

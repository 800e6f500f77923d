"""schemathesis against the server's own OpenAPI document (/api/openapi.json, docs/api.md).

A real server with a scenario, and canaries in its picture that each caller must never
see: a JPN ``SECRET//NOFORN`` item (neither the US operator nor anonymous), a US
``SECRET`` item (not anonymous) and a marker addressed to KITSUNE only. Every
operation is called with generated input as the US operator and as anonymous, a
bounded number of examples each. Checks: no 5xx, responses and headers conform to
their schema, no canary in any response, and every banner in a response is one the
caller may see (a banner is the roll-up of what is shown).
Status-code conformance is not checked: FastAPI documents 200 and 422 only, and the
API's 401/403/404/409/503 are documented in docs/api.md instead.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
)

from allied_c2.security.decision import may_release
from allied_c2.security.markings import parse_banner
from allied_c2.security.principals import Principal
from tests.server.test_audience_exits import addressed_marker
from tests.support.cot import CotClient, client_tls, marker
from tests.support.server import ROOT, ServerProcess, add_user, cli, create_token

EXAMPLES = 15  # per operation and caller: bounded for `make test`
# Found by this test and reported, not yet fixed where it lives; each is checked on
# its own below (strict xfail), so a fix shows up as XPASS. Fixed: POST /api/v1/chat
# answered 500 for text XML cannot carry (U+0006…): now 422 (web/xmltext.py).
KNOWN: dict[str, str] = {}
HIDDEN = {
    "anonymous": {"canary-jpn-noforn", "canary-us-secret", "canary-for-kitsune"},
    "operator": {"canary-jpn-noforn", "canary-for-kitsune"},
}
PRINCIPALS = {
    "anonymous": Principal("anonymous", None, "UNCLASSIFIED", roles=frozenset({"viewer"})),
    "operator": Principal("OPS", "USA", "SECRET", roles=frozenset({"operator"})),
}


async def plant_canaries(server: ServerProcess, certs: Path) -> None:
    host, port = server.address("cot_tls")
    jpn = await CotClient.connect(host, port, client_tls(certs, "KITSUNE"))
    usa = await CotClient.connect(host, port, client_tls(certs, "ALPHA"))
    witness = await CotClient.connect(host, port, client_tls(certs, "WITNESS"))
    try:
        await jpn.send(marker("canary-jpn-noforn", 35.1, 139.1, marking=("SECRET", "NOFORN", None)))
        await usa.send(marker("canary-us-secret", 35.2, 139.2, marking=("SECRET", None, None)))
        await usa.send(addressed_marker("canary-for-kitsune", "KITSUNE", "SECRET"))
        await witness.wait_uid("canary-us-secret", timeout=15)
        await asyncio.sleep(0.5)
    finally:
        for client in (jpn, usa, witness):
            await client.close()


@pytest.fixture(scope="module")
def api_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    data = tmp_path_factory.mktemp("schemathesis")
    certs = data / "certs"
    cli("ca", "init", "--data-dir", str(data))
    add_user(data, "OPS", "USA", "SECRET", roles=("operator",), org="3mardiv")
    add_user(data, "KITSUNE", "JPN", "SECRET", out=certs)
    add_user(data, "ALPHA", "USA", "SECRET", out=certs)
    add_user(data, "WITNESS", "USA", "SECRET", out=certs)
    token = create_token(data, "OPS")
    scenario = str(ROOT / "scenarios" / "alliance-jfhq.yaml")
    server = ServerProcess(data, "--scenario", scenario, tls=True).start(timeout=60)
    try:
        asyncio.run(plant_canaries(server, certs))
        picture = {i["uid"] for i in server.get_json("/api/v1/picture", token)["items"]}
        assert "canary-us-secret" in picture, "the canaries are not in the picture"
        yield {"server": server, "token": token}
    finally:
        server.stop()


def banners(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "banner" and isinstance(item, str):
                yield item
            else:
                yield from banners(item)
    elif isinstance(value, list):
        for item in value:
            yield from banners(item)


def released_only_what_may_be_seen(who: str, text: str) -> None:
    leaked = sorted(uid for uid in HIDDEN[who] if uid in text)
    assert not leaked, f"{who} was given {leaked}"
    try:
        body = json.loads(text)
    except ValueError:
        return
    for banner in banners(body):
        decision = may_release(parse_banner(banner, strict=False), PRINCIPALS[who])
        assert decision.allowed, f"{who} got a view bannered {banner}: {decision.reason}"


SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    database=None,
)
# Content types are not checked: endpoints keep arriving that answer XML, YAML, KML or
# GeoJSON while FastAPI documents JSON (the C2SIM ones declare theirs: docs/api.md);
# the response schema is checked wherever the document gives one.
CHECKS = [not_a_server_error, response_schema_conformance, response_headers_conformance]


def _first_lines(exc: BaseException) -> str:
    text = str(exc).strip()
    if isinstance(exc, BaseExceptionGroup):
        text += " | " + " | ".join(str(e).strip().splitlines()[0] for e in exc.exceptions)
    return text[:600]


def fuzz_api(api_server: dict[str, Any], who: str, only: set[str] | None = None) -> list[str]:
    """Every operation with generated cases; returns one line per failing operation.

    schemathesis's pytest plugin does not run under this pytest yet, so its
    strategies are driven here with hypothesis directly (the same checks).
    """
    server, token = api_server["server"], api_server["token"]
    schema = schemathesis.openapi.from_url(f"{server.url}/api/openapi.json")
    headers = {"Authorization": f"Bearer {token}"} if who == "operator" else {}
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if (only is None and operation.label in KNOWN) or (only and operation.label not in only):
            continue
        operations += 1

        @SETTINGS
        @given(case=operation.as_strategy())
        def holds(case: Any) -> None:
            response = case.call_and_validate(headers=headers, timeout=30, checks=CHECKS)
            released_only_what_may_be_seen(who, response.text)

        try:
            holds()
        except (Exception, BaseExceptionGroup) as exc:  # schemathesis raises a group
            failures.append(f"{operation.label}: {_first_lines(exc)}")
    assert operations >= (1 if only else 10), "the OpenAPI document lists too few operations"
    return failures


@pytest.mark.timeout(300)
def test_api_as_the_operator(api_server: dict[str, Any]) -> None:
    failures = fuzz_api(api_server, "operator")
    assert not failures, "\n\n".join(failures)


@pytest.mark.timeout(300)
def test_api_as_anonymous(api_server: dict[str, Any]) -> None:
    failures = fuzz_api(api_server, "anonymous")
    assert not failures, "\n\n".join(failures)


@pytest.mark.timeout(300)
@pytest.mark.skipif(not KNOWN, reason="no known findings left to check")
@pytest.mark.xfail(strict=True, reason="; ".join(KNOWN.values()))
def test_known_findings_still_fail(api_server: dict[str, Any]) -> None:
    failures = fuzz_api(api_server, "operator", set(KNOWN))
    assert not failures, "\n\n".join(failures)

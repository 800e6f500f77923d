"""``POST /api/v1/markings/rollup`` and the display class on every marking the API sends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from allied_c2.security.display import marking_json
from allied_c2.security.markings import parse_banner, rollup
from allied_c2.web.markings import MAX_MARKINGS
from tests.alliance_server.conftest import Server, close_server, open_server

ROLLUP = "/api/v1/markings/rollup"


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[Server]:
    srv = await open_server(tmp_path / "var")
    try:
        yield srv
    finally:
        await close_server(srv)


async def rolled(server: Server, markings: list[Any], who: str | None = None) -> dict[str, Any]:
    response = await server.post(ROLLUP, who, {"markings": markings})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def expected(*parts: str | tuple[str, str | None]) -> dict[str, str | None]:
    """The server library's own roll-up of ``parts`` (banners, or (banner, originator))."""
    markings = [
        parse_banner(p, strict=False)
        if isinstance(p, str)
        else parse_banner(p[0], strict=False).with_originator(p[1])
        for p in parts
    ]
    return marking_json(rollup(markings))


@pytest.mark.parametrize(
    ("banner", "shown", "css"),
    [
        ("NATO SECRET", "NATO SECRET", "mk-s"),
        ("秘", "JPN HI", "mk-c"),
        ("JPN GOKUHI//REL TO USA, JPN", "JPN GOKUHI//REL TO USA, JPN", "mk-s"),
        ("PHL CONFIDENTIAL", "PHL CONFIDENTIAL", "mk-c"),
        ("NATO RESTRICTED", "NATO RESTRICTED", "mk-r"),
        ("UNCLASSIFIED", "UNCLASSIFIED", "mk-u"),
    ],
)
async def test_national_levels_roll_up_as_the_server_marks_them(
    server: Server, banner: str, shown: str, css: str
) -> None:
    body = await rolled(server, [banner, "UNCLASSIFIED"], "JS-CMDR")
    assert body["banner"] == shown and body["class"] == css
    assert body == expected(banner, "UNCLASSIFIED")


async def test_mixed_schemes_and_originators(server: Server) -> None:
    mixed = ["NATO SECRET", "JPN GOKUHI//REL TO USA, JPN", "PHL CONFIDENTIAL//REL TO USA, PHL"]
    body = await rolled(server, mixed)  # anonymous callers may ask too: nothing is released
    assert body == expected(*mixed)
    assert body["banner"] == "SECRET" and body["class"] == "mk-s"  # the common scheme's
    two = await rolled(server, mixed[1:])  # the REL TO lists share only the USA
    assert two == expected(*mixed[1:]) and two["banner"] == "JPN GOKUHI//NOFORN"
    # The originator is part of a marking: a JPN-originated SECRET without REL TO is JPN's
    # only, so beside a REL TO USA, JPN part the whole is NOFORN, not plain SECRET.
    parts: list[Any] = [{"banner": "SECRET", "originator": "JPN"}, "SECRET//REL TO USA, JPN"]
    body = await rolled(server, parts)
    assert body == expected(("SECRET", "JPN"), "SECRET//REL TO USA, JPN")
    assert body["banner"] == "SECRET//NOFORN"
    assert (await rolled(server, ["SECRET", "SECRET//REL TO USA, JPN"]))["banner"] == "SECRET"


async def test_marking_objects_as_the_api_sends_them_are_accepted(server: Server) -> None:
    sent = marking_json(parse_banner("PHL CONFIDENTIAL").with_originator("PHL"))
    assert await rolled(server, [sent, sent]) == {
        "banner": "PHL CONFIDENTIAL",
        "portion": "(PHL C)",
        "class": "mk-c",
        "originator": "PHL",
    }
    # Beside a banner with no originator, the whole has no single originator.
    both = await rolled(server, [sent, "PHL CONFIDENTIAL"])
    assert both == expected(("PHL CONFIDENTIAL", "PHL"), "PHL CONFIDENTIAL")
    assert both["banner"] == "PHL CONFIDENTIAL" and both["originator"] is None


async def test_duplicates_and_empty(server: Server) -> None:
    assert await rolled(server, ["NATO SECRET"] * 50) == expected("NATO SECRET")
    assert await rolled(server, []) == {
        "banner": "UNCLASSIFIED",
        "portion": "(U)",
        "class": "mk-u",
        "originator": None,
    }


@pytest.mark.parametrize(
    "body",
    [
        {"markings": ["SEKRET"]},
        {"markings": ["MARKING UNKNOWN"]},
        {"markings": ["SECRET//REL TO USA"]},  # one country
        {"markings": [{"banner": "SECRET", "originator": "XXX"}]},
        {"markings": ["S" * 3000]},
        {"markings": ["UNCLASSIFIED"] * (MAX_MARKINGS + 1)},
        {"markings": "SECRET"},
        {"markings": [3]},
        {"banners": ["SECRET"]},
        {},
    ],
)
async def test_what_cannot_be_marked_is_refused(server: Server, body: dict[str, Any]) -> None:
    response = await server.post(ROLLUP, "JS-CMDR", body)
    assert response.status_code == 422, response.text


async def test_a_bad_token_is_refused(server: Server) -> None:
    response = await server.client.post(
        ROLLUP, json={"markings": []}, headers={"Authorization": "Bearer nope-nope-nope"}
    )
    assert response.status_code == 401


async def test_records_carry_the_servers_display_class(server: Server) -> None:
    response = await server.post(
        "/api/v1/requests",
        "GCC-OPS",
        {
            "kind": "logistics_support",
            "originator": "gcc",
            "subject": "Water purification units",
            "marking": "極秘//REL TO USA, JPN",
            "needed_by": "2026-03-06T00:00:00Z",
            "urgency": "priority",
        },
    )
    assert response.status_code == 201, response.text
    assert response.json()["marking"] == {
        "banner": "JPN GOKUHI//REL TO USA, JPN",
        "portion": "(JPN GOKUHI//REL TO USA, JPN)",
        "class": "mk-s",
        "originator": "JPN",
    }

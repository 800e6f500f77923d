"""A TAK user's direct message, tried as a new user would (issue 9).

Three pytak clients on mutual TLS: ALPHA sends CHARLIE a GeoChat and a marker
addressed with ``<marti><dest callsign="CHARLIE"/>``. Only CHARLIE gets them:
not the third client, not a later client's catch-up, not the HTTP API for
anyone else (with or without a token), and not after a restart.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from tests.server.test_audience_exits import addressed_marker
from tests.support.cot import direct_chat, pli
from tests.support.pytak_client import PytakClient
from tests.support.server import ServerProcess, add_user, cli, create_token

PRIVATE = {"GeoChat.alpha-uid.charlie-uid.m1", "private-marker"}


def uids_at(server: ServerProcess, path: str, token: str | None) -> set[str]:
    body = server.get_json(path, token)
    return {item["uid"] for item in body.get("items", body.get("events", []))}


@pytest.fixture
def staff(tmp_path: Path) -> tuple[Path, Path, dict[str, str]]:
    data, certs = tmp_path / "data", tmp_path / "certs"
    cli("ca", "init", "--data-dir", str(data))
    for callsign in ("ALPHA", "CHARLIE", "THIRD"):
        add_user(data, callsign, "USA", "SECRET", out=certs)
    add_user(data, "WATCH", "USA", "SECRET", roles=("auditor",))
    tokens = {c: create_token(data, c) for c in ("ALPHA", "CHARLIE", "THIRD", "WATCH")}
    return data, certs, tokens


async def test_a_direct_message_reaches_its_addressee_only(
    staff: tuple[Path, Path, dict[str, str]],
) -> None:
    data, certs, tokens = staff
    server = ServerProcess(data, tls=True).start()
    host, port = server.address("cot_tls")
    alpha = await PytakClient.tls(host, port, certs, "ALPHA")
    charlie = await PytakClient.tls(host, port, certs, "CHARLIE")
    third = await PytakClient.tls(host, port, certs, "THIRD")
    try:
        for client, uid, callsign in (
            (alpha, "alpha-uid", "ALPHA"),
            (charlie, "charlie-uid", "CHARLIE"),
            (third, "third-uid", "THIRD"),
        ):
            await client.send(pli(uid, callsign))
        await third.wait_for_uid("charlie-uid")
        await alpha.send(direct_chat("alpha-uid", "ALPHA", "charlie-uid", "CHARLIE", "for you"))
        await alpha.send(addressed_marker("private-marker", "CHARLIE"))
        await alpha.send(pli("alpha-uid", "ALPHA", lat=35.8))  # a public event after them
        assert (await charlie.wait_for_uid("private-marker")).uid == "private-marker"
        await charlie.wait_for_uid("GeoChat.alpha-uid.charlie-uid.m1")
        await asyncio.sleep(0.5)
        assert PRIVATE.isdisjoint(e.uid for e in third.events)
        late = await PytakClient.tls(host, port, certs, "THIRD")
        await late.wait_for_uid("alpha-uid")
        await asyncio.sleep(0.5)
        assert PRIVATE.isdisjoint(e.uid for e in late.events)
        await late.close()
        _assert_http_views(server, tokens)
    finally:
        for client in (alpha, charlie, third):
            await client.close()
        server.stop()
    # After a restart the same rules apply: restore, the HTTP API and the CLI.
    server = ServerProcess(data, tls=True).start()
    try:
        _assert_http_views(server, tokens)
        late = await PytakClient.tls(*server.address("cot_tls"), certs, "THIRD")
        await late.wait_for_uid("charlie-uid")
        await asyncio.sleep(0.5)
        assert PRIVATE.isdisjoint(e.uid for e in late.events)
        await late.close()
    finally:
        server.stop()
    for callsign, sees in (("THIRD", False), ("CHARLIE", True), ("ALPHA", True)):
        out = cli("history", "--data-dir", str(data), "--as", callsign, "--format", "json")
        shown = {row["uid"] for row in json.loads(out.stdout)}
        assert (shown >= PRIVATE) is sees and (PRIVATE & shown == set()) is not sees, callsign


def _assert_http_views(server: ServerProcess, tokens: dict[str, str]) -> None:
    for token in (None, tokens["THIRD"]):
        assert PRIVATE.isdisjoint(uids_at(server, "/api/v1/events", token))
        assert PRIVATE.isdisjoint(uids_at(server, "/api/v1/picture", token))
        assert "alpha-uid" in uids_at(server, "/api/v1/picture", token)
    for who in ("CHARLIE", "ALPHA", "WATCH"):  # addressee, sender, auditor
        assert uids_at(server, "/api/v1/events", tokens[who]) >= PRIVATE, who
        assert "private-marker" in uids_at(server, "/api/v1/picture", tokens[who]), who

"""Releasability enforced at every exit, over mutual TLS with certificates from `user add`.

A US SECRET user sends marked items; a US SECRET, a JPN SECRET and a PHL
CONFIDENTIAL user and an anonymous TCP client must each receive exactly what the
markings allow: live, in the catch-up after reconnecting, through the HTTP API
and in history.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
import websockets

from tests.support.cot import CotClient, client_tls, direct_chat, marker, pli
from tests.support.server import ServerProcess, add_user, cli

USERS = {
    "SENDER": ("USA", "SECRET"),
    "EAGLE": ("USA", "SECRET"),
    "SAKURA": ("JPN", "SECRET"),
    "AGILA": ("PHL", "CONFIDENTIAL"),
    "GONE": ("JPN", "SECRET"),
}
ITEMS = {
    "rel-us-jp": ("SECRET", "REL TO", "USA JPN"),
    "noforn": ("SECRET", "NOFORN", None),
    "rel-three": ("CONFIDENTIAL", "REL TO", "USA JPN PHL"),
    "unclass": ("UNCLASSIFIED", None, None),
    "banner-in-access": ("SECRET//REL TO USA, JPN", None, None),
}
EXPECTED = {  # who may see each item
    "rel-us-jp": {"EAGLE", "SAKURA"},
    "noforn": {"EAGLE"},
    "rel-three": {"EAGLE", "SAKURA", "AGILA"},
    "unclass": {"EAGLE", "SAKURA", "AGILA", "anonymous"},
    "banner-in-access": {"EAGLE", "SAKURA"},
}
RECEIVERS = ("EAGLE", "SAKURA", "AGILA", "anonymous")

# One server and one event loop for the module: the live clients outlive single tests.
pytestmark = pytest.mark.asyncio(loop_scope="module")


class Coalition:
    def __init__(self, server: ServerProcess, certs: Path, tokens: dict[str, str]) -> None:
        self.server = server
        self.certs = certs
        self.tokens = tokens

    async def connect(self, name: str) -> CotClient:
        if name == "anonymous":
            host, port = self.server.address("cot_tcp")
            return await CotClient.connect(host, port)
        host, port = self.server.address("cot_tls")
        return await CotClient.connect(host, port, client_tls(self.certs, name))


@pytest.fixture(scope="module")
def coalition(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Coalition]:
    data = tmp_path_factory.mktemp("releasability")
    certs = data / "certs"
    tokens: dict[str, str] = {}
    for name, (nation, clearance) in USERS.items():
        add_user(data, name, nation, clearance, out=certs)
        tokens[name] = cli("token", "create", "--data-dir", str(data), name).stdout.strip()
    server = ServerProcess(data, "--https", "127.0.0.1:0", tls=True).start()
    yield Coalition(server, certs, tokens)
    server.stop()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def delivered(coalition: Coalition) -> AsyncIterator[dict[str, set[str]]]:
    """Send every marked item once; record which uids each receiver got live."""
    receivers = {name: await coalition.connect(name) for name in RECEIVERS}
    sender = await coalition.connect("SENDER")
    for uid, marking in ITEMS.items():
        await sender.send(marker(uid, 26.2, 127.7, marking=marking))
    await sender.send(pli("fence", "FENCE"))  # unmarked: everyone gets it, after the others
    for client in receivers.values():
        await client.wait_uid("fence")
    yield {name: client.uids() for name, client in receivers.items()}
    for client in [*receivers.values(), sender]:
        await client.close()


@pytest.mark.parametrize("uid", sorted(ITEMS))
async def test_live_delivery_follows_the_markings(delivered: dict[str, set[str]], uid: str) -> None:
    got = {name for name, uids in delivered.items() if uid in uids}
    assert got == EXPECTED[uid]


async def test_catch_up_after_reconnect_follows_the_markings(
    coalition: Coalition, delivered: dict[str, set[str]]
) -> None:
    for name in RECEIVERS:
        client = await coalition.connect(name)
        try:
            await client.wait_uid("fence")
            await asyncio.sleep(0.2)
            got = client.uids() & set(ITEMS)
            assert got == {uid for uid, who in EXPECTED.items() if name in who}, name
        finally:
            await client.close()


def _get(coalition: Coalition, path: str, name: str) -> dict[str, object]:
    token = coalition.tokens.get(name)
    result: dict[str, object] = coalition.server.get_json(path, token)
    return result


@pytest.mark.parametrize("name", RECEIVERS)
async def test_http_picture_and_history_follow_the_markings(
    coalition: Coalition, delivered: dict[str, set[str]], name: str
) -> None:
    allowed = {uid for uid, who in EXPECTED.items() if name in who}
    picture = _get(coalition, "/api/v1/picture", name)
    assert {i["uid"] for i in picture["items"]} & set(ITEMS) == allowed  # type: ignore[attr-defined]
    history = _get(coalition, "/api/v1/events?limit=10000", name)
    assert {e["uid"] for e in history["events"]} & set(ITEMS) == allowed  # type: ignore[attr-defined]


async def test_banner_is_the_roll_up_of_what_is_shown(
    coalition: Coalition, delivered: dict[str, set[str]]
) -> None:
    assert _get(coalition, "/api/v1/picture", "EAGLE")["banner"] == "SECRET//NOFORN"
    assert _get(coalition, "/api/v1/picture", "SAKURA")["banner"] == "SECRET//REL TO USA, JPN"
    assert _get(coalition, "/api/v1/picture", "AGILA")["banner"] == (
        "CONFIDENTIAL//REL TO USA, JPN, PHL"
    )
    assert _get(coalition, "/api/v1/picture", "anonymous")["banner"] == "UNCLASSIFIED"


@pytest.mark.parametrize("name", ["EAGLE", "SAKURA", "anonymous"])
async def test_websocket_stream_follows_the_markings(
    coalition: Coalition, delivered: dict[str, set[str]], name: str
) -> None:
    host, port = coalition.server.address("http")
    async with websockets.connect(f"ws://{host}:{port}/api/v1/stream") as ws:
        # The token goes in the first message, never in the URL ({} stays anonymous).
        await ws.send(
            json.dumps({"token": coalition.tokens[name]} if name in coalition.tokens else {})
        )
        hello = json.loads(await ws.recv())
        assert hello["kind"] == "hello" and hello["principal"]["callsign"] == name
        snapshot = json.loads(await ws.recv())
        allowed = {uid for uid, who in EXPECTED.items() if name in who}
        assert {i["uid"] for i in snapshot["items"]} & set(ITEMS) == allowed
        # Live: a new NOFORN item reaches only the US viewer's stream; an unmarked one all.
        sender = await coalition.connect("SENDER")
        try:
            await sender.send(
                marker(f"ws-noforn-{name}", 21.0, 125.0, marking=("SECRET", "NOFORN", None))
            )
            await sender.send(marker(f"ws-open-{name}", 21.0, 125.0))
            seen: set[str] = set()
            while f"ws-open-{name}" not in seen:
                message = json.loads(await asyncio.wait_for(ws.recv(), timeout=10))
                if message["kind"] == "item":
                    seen.add(message["item"]["uid"])
                elif message["kind"] == "items":  # the stream batches picture changes
                    seen |= {item["uid"] for item in message["items"]}
        finally:
            await sender.close()
        assert (f"ws-noforn-{name}" in seen) == (name == "EAGLE")


async def test_https_with_a_client_certificate_identifies_the_principal(
    coalition: Coalition,
) -> None:
    host, port = coalition.server.address("https")
    context = client_tls(coalition.certs, "SAKURA")
    with urllib.request.urlopen(
        f"https://{host}:{port}/api/v1/whoami", context=context, timeout=10
    ) as resp:
        assert json.loads(resp.read())["callsign"] == "SAKURA"
    with urllib.request.urlopen(
        f"https://{host}:{port}/api/v1/picture", context=context, timeout=10
    ) as resp:
        uids = {i["uid"] for i in json.loads(resp.read())["items"]}
    assert "noforn" not in uids and "rel-us-jp" in uids


async def test_marti_contact_list_follows_the_markings(coalition: Coalition) -> None:
    hidden = await coalition.connect("EAGLE")
    try:
        await hidden.send(pli("eagle-sa", "EAGLE-SA", marking=("SECRET", "NOFORN", None)))
        await asyncio.sleep(0.5)
        us = _get(coalition, "/Marti/api/clientEndPoints", "SENDER")
        jp = _get(coalition, "/Marti/api/clientEndPoints", "SAKURA")
        assert "eagle-sa" in {c["uid"] for c in us["data"]}  # type: ignore[attr-defined]
        assert "eagle-sa" not in {c["uid"] for c in jp["data"]}  # type: ignore[attr-defined]
        assert _get(coalition, "/Marti/api/version/config", "SAKURA")["type"] == "ServerConfig"
    finally:
        await hidden.close()


async def test_unknown_token_is_refused(coalition: Coalition) -> None:
    with pytest.raises(urllib.error.HTTPError) as refused:
        coalition.server.get_json("/api/v1/picture", "ac2_not-a-token")
    assert refused.value.code == 401


async def test_addressing_a_recipient_directly_does_not_bypass_the_marking(
    coalition: Coalition, delivered: dict[str, set[str]]
) -> None:
    sender = await coalition.connect("SENDER")
    agila = await coalition.connect("AGILA")
    try:
        await agila.send(pli("agila-uid", "AGILA"))
        await sender.send(pli("sender-uid", "SENDER"))
        await sender.wait_uid("agila-uid")
        secret = direct_chat("sender-uid", "SENDER", "agila-uid", "AGILA", "eyes only").replace(
            b'type="b-t-f"', b'type="b-t-f" access="SECRET" caveat="REL TO" releasableTo="USA JPN"'
        )
        await sender.send(secret)
        await sender.send(direct_chat("sender-uid", "SENDER", "agila-uid", "AGILA", "for all"))
        chat = await agila.wait_for(lambda e: e.type == "b-t-f")
        assert chat.remarks == "for all"
        assert [e.remarks for e in agila.events if e.type == "b-t-f"] == ["for all"]
    finally:
        await sender.close()
        await agila.close()
    await asyncio.sleep(0.5)  # audit appends happen off the event loop
    shown = cli(
        "audit",
        "show",
        "--as-operator",
        "--data-dir",
        str(coalition.server.data_dir),
        "--action",
        "release.denied",
    ).stdout
    assert "AGILA" in shown


async def test_sending_above_ones_clearance_is_refused(coalition: Coalition) -> None:
    agila = await coalition.connect("AGILA")
    eagle = await coalition.connect("EAGLE")
    try:
        await agila.send(marker("too-high", 14.5, 121.0, marking=("SECRET", "REL TO", "USA PHL")))
        await agila.send(pli("agila-fence", "AGILA"))
        await eagle.wait_uid("agila-fence")
        assert "too-high" not in eagle.uids()
    finally:
        await agila.close()
        await eagle.close()
    await asyncio.sleep(0.5)
    shown = cli(
        "audit",
        "show",
        "--as-operator",
        "--data-dir",
        str(coalition.server.data_dir),
        "--action",
        "send.refused",
    ).stdout
    assert "too-high" in shown


async def test_a_revoked_user_is_cut_off(coalition: Coalition) -> None:
    gone = await coalition.connect("GONE")
    await gone.wait_uid("fence")
    cli("user", "revoke", "--data-dir", str(coalition.server.data_dir), "GONE")
    await asyncio.wait_for(gone.closed.wait(), timeout=10)  # live connection closed
    again = await coalition.connect("GONE")  # the handshake passes; the server then closes
    await asyncio.wait_for(again.closed.wait(), timeout=10)
    assert "fence" not in again.uids()
    with pytest.raises(urllib.error.HTTPError):
        coalition.server.get_json("/api/v1/picture", coalition.tokens["GONE"])


async def test_audit_verify_detects_an_edited_row(coalition: Coalition) -> None:
    data = coalition.server.data_dir
    assert cli("audit", "verify", "--data-dir", str(data)).returncode == 0
    db = sqlite3.connect(data / "allied-c2.db")
    try:
        db.execute("UPDATE audit_log SET subject = 'someone-else' WHERE seq = 2")
        db.commit()
    finally:
        db.close()
    broken = cli("audit", "verify", "--data-dir", str(data), check=False)
    assert broken.returncode == 1
    assert "entry 2" in broken.stdout + broken.stderr

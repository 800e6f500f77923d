"""Issue 9 H: tokens expire by default, are listed and revoked by id, and never travel
in a URL; a change that cannot be audited is undone."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import typer
import websockets
from typer.testing import CliRunner, Result

from allied_c2.cli.tokens import token_app
from allied_c2.cli.users import user_app
from allied_c2.config import Config, Endpoint
from allied_c2.security.principals import Principal
from allied_c2.store.db import open_database
from allied_c2.store.principals import PrincipalStore
from tests.hardening.conftest import Node, NodeFactory

runner = CliRunner()
app = typer.Typer()
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")


def run(*args: str | Path) -> Result:
    return runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "200"})


@pytest.fixture
def data(tmp_path: Path) -> Path:
    data = tmp_path / "var"
    store = PrincipalStore(open_database(Config(data_dir=data)))
    store.add(Principal("A1", "USA", "SECRET", roles=frozenset({"operator"})))
    return data


def expiry(data: Path, token_id: int) -> datetime | None:
    store = PrincipalStore(open_database(Config(data_dir=data)))
    return next(t.expires_at for t in store.tokens() if t.id == token_id)


def test_a_token_expires_in_30_days_by_default(data: Path) -> None:
    result = run("token", "create", "A1", "--data-dir", data)
    assert result.exit_code == 0, result.output
    until = expiry(data, 1)
    assert until is not None
    assert abs(until - (datetime.now(UTC) + timedelta(days=30))) < timedelta(minutes=1)
    assert run("token", "create", "A1", "--data-dir", data, "--expires", "12h").exit_code == 0
    until = expiry(data, 2)
    assert until is not None and until - datetime.now(UTC) < timedelta(hours=12, minutes=1)
    assert run("token", "create", "A1", "--data-dir", data, "--expires", "never").exit_code == 0
    assert expiry(data, 3) is None  # an explicit choice
    bad = run("token", "create", "A1", "--data-dir", data, "--expires", "soon")
    assert bad.exit_code == 2 and "30d" in bad.output


def test_the_default_comes_from_the_configuration(data: Path, tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f'data_dir = "{data}"\ntoken_default_expiry = "7d"\n')
    assert run("token", "create", "A1", "--config", config).exit_code == 0
    until = expiry(data, 1)
    assert until is not None and until - datetime.now(UTC) < timedelta(days=7, minutes=1)


def test_tokens_are_listed_and_revoked_by_id(data: Path) -> None:
    token = run("token", "create", "A1", "--data-dir", data).stdout.strip()
    listing = run("token", "list", "--data-dir", data).output
    assert "A1" in listing and "active" in listing
    assert run("token", "revoke", "1", "--data-dir", data).exit_code == 0
    assert PrincipalStore(open_database(Config(data_dir=data))).by_token(token) is None
    assert "revoked" in run("token", "list", "--data-dir", data).output


def test_a_token_whose_creation_cannot_be_audited_is_not_handed_out(data: Path) -> None:
    with sqlite3.connect(data / "allied-c2.db") as conn:
        conn.execute(
            "CREATE TRIGGER no_audit BEFORE INSERT ON audit_log "
            "BEGIN SELECT RAISE(ABORT, 'audit disabled'); END"
        )
    result = run("token", "create", "A1", "--data-dir", data)
    assert result.exit_code == 1
    assert "was undone" in result.output and "ac2_" not in result.stdout
    (token,) = PrincipalStore(open_database(Config(data_dir=data))).tokens()
    assert token.revoked
    update = run("user", "update", "A1", "--data-dir", data, "--clearance", "TOP SECRET")
    assert update.exit_code == 1
    after = PrincipalStore(open_database(Config(data_dir=data))).get("A1")
    assert after is not None and after.clearance == "SECRET"  # undone


# -- the WebSocket -------------------------------------------------------------------------


def stream_url(node: Node) -> str:
    return f"{node.url('http', 'ws')}/api/v1/stream"


async def hello(ws: websockets.ClientConnection) -> str:
    message = json.loads(await asyncio.wait_for(ws.recv(), timeout=5))
    assert message["kind"] == "hello"
    return str(message["principal"]["callsign"])


async def test_a_token_in_the_url_is_refused(node: Node) -> None:
    url = f"{stream_url(node)}?token={node.tokens['EAGLE']}"
    async with websockets.connect(url) as ws:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4400


async def test_the_token_in_the_first_message(node: Node) -> None:
    async with websockets.connect(stream_url(node)) as ws:
        await ws.send(json.dumps({"token": node.tokens["SAKURA"]}))
        assert await hello(ws) == "SAKURA"
    async with websockets.connect(stream_url(node)) as ws:
        await ws.send("{}")
        assert await hello(ws) == "anonymous"
    async with websockets.connect(stream_url(node)) as ws:
        await ws.send(json.dumps({"token": "ac2_forged"}))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


async def test_the_token_as_a_subprotocol(node: Node) -> None:
    bearer = f"bearer.{node.tokens['EAGLE']}"
    async with websockets.connect(stream_url(node), subprotocols=["allied-c2", bearer]) as ws:
        assert ws.subprotocol == "allied-c2"  # the token is not echoed back
        assert await hello(ws) == "EAGLE"
    async with websockets.connect(stream_url(node), subprotocols=[bearer]) as ws:
        assert ws.subprotocol == bearer  # a browser needs an answer from what it offered
        assert await hello(ws) == "EAGLE"


async def test_plain_http_off_loopback_warns(
    make_node: NodeFactory, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="allied_c2.web"):
        await make_node(http=Endpoint("0.0.0.0", 0))
    assert "bearer tokens sent to it can be read on the network" in caplog.text

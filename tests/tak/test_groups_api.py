"""Channels end to end: `user add|update --group`, groups/all, groups/active, t-x-g-c."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from typer.testing import CliRunner, Result

from allied_c2.cli.main import app
from allied_c2.config import Config
from allied_c2.cot.xmlcodec import parse_xml
from allied_c2.security.groups import Membership
from allied_c2.store.db import open_database
from allied_c2.store.groups import GroupStore
from tests.support.cot import marker, pli
from tests.support.inprocess import InProcessServer

runner = CliRunner()


def ok(*args: str | Path) -> Result:
    result = runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    return result


def test_groups_from_the_cli_to_the_client(tmp_path: Path) -> None:
    data = tmp_path / "data"
    common = ["--data-dir", data, "--nation", "USA", "--clearance", "SECRET"]
    out = ok("user", "add", "--callsign", "RED-1", "--group", "Red", *common, "--out", tmp_path)
    assert "groups:      Red:both" in out.output
    ok("user", "add", "--callsign", "RED-2", "--group", "Red:out", "--group", "Blue:in", *common)
    ok("user", "add", "--callsign", "PLAIN", *common)
    store = GroupStore(open_database(Config(data_dir=data)))
    assert store.of("RED-2") == [Membership("Blue", "in"), Membership("Red", "out")]
    assert store.of("PLAIN") == []

    server = InProcessServer(data)
    try:
        runtime = server.runtime
        tokens = {c: runtime.principals.create_token(c) for c in ("RED-1", "RED-2", "PLAIN")}
        red1, red2 = runtime.principals.get("RED-1"), runtime.principals.get("RED-2")
        assert red1 is not None and red2 is not None
        groups = server.get_json("/Marti/api/groups/all?useCache=true", tokens["RED-2"])
        assert groups["type"] == "com.bbn.marti.remote.groups.Group"
        listed = {(g["name"], g["direction"], g["active"]) for g in groups["data"]}
        assert listed == {("Blue", "IN", True), ("Red", "OUT", True)}
        assert {"created", "type", "bitpos", "description"} <= set(groups["data"][0])
        plain = server.get_json("/Marti/api/groups/all", tokens["PLAIN"])["data"]
        assert {(g["name"], g["direction"]) for g in plain} == {
            ("__ANON__", "IN"),
            ("__ANON__", "OUT"),
        }

        now = datetime.now(UTC)
        writer = server.connect(red1, "RED-1", now)
        server.send(writer, red1, parse_xml(pli("uid-red1", "RED-1")))
        reader = server.connect(red2, "RED-2", now)
        server.send(reader, red2, parse_xml(pli("uid-red2", "RED-2")))
        reader.received.clear()
        server.send(writer, red1, parse_xml(marker("m-1", 35.0, 139.0)))
        assert [e.uid for e in reader.received] == ["m-1"]

        # ATAK switches the Red channel off for its connection: nothing from Red comes.
        body = [{"name": "Red", "direction": "OUT", "active": False}]
        headers = {"Authorization": f"Bearer {tokens['RED-2']}"}
        put = server.loop.run_until_complete(
            server.http.put(
                "/Marti/api/groups/active?clientUid=uid-red2", json=body, headers=headers
            )
        )
        assert put.status_code == 200, put.text
        server.send(writer, red1, parse_xml(marker("m-2", 35.0, 139.0)))
        assert "m-2" not in [e.uid for e in reader.received]
        shown = server.get_json("/Marti/api/groups/all?clientUid=uid-red2", tokens["RED-2"])
        assert ("Red", "OUT", False) in {
            (g["name"], g["direction"], g["active"]) for g in shown["data"]
        }
        # Another principal cannot choose for that client.
        other = server.loop.run_until_complete(
            server.http.put(
                "/Marti/api/groups/active?clientUid=uid-red2",
                json=body,
                headers={"Authorization": f"Bearer {tokens['PLAIN']}"},
            )
        )
        assert other.status_code == 403
        # A read never sends t-x-g-c; a membership change does, to whom it concerns.
        assert not [e for e in reader.received if e.type == "t-x-g-c"]
        ok("user", "update", "RED-1", "--group", "Blue", "--data-dir", data)
        runtime.directory.refresh()
        changed = server.hub.set_channels(runtime.directory.channels, now)
        assert changed == {"RED-1"}
        assert [e.type for e in writer.received if e.type == "t-x-g-c"] == ["t-x-g-c"]
        assert not [e for e in reader.received if e.type == "t-x-g-c"]
        ok("user", "update", "RED-1", "--no-group", "--data-dir", data)
        assert store.of("RED-1") == []
    finally:
        server.close()

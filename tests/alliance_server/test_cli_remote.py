"""`allied-c2 request …` and `allied-c2 readiness …` against a real server process."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.alliance_server.conftest import SCENARIOS
from tests.support.server import ServerProcess, add_user, cli


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str]]]:
    data = tmp_path_factory.mktemp("cli-remote")
    cli("ca", "init", "--data-dir", str(data))
    tokens: dict[str, str] = {}
    for callsign, nation, role, org in (
        ("SHOGUN", "JPN", "commander", "jjoc"),
        ("GROUND-OPS", "JPN", "operator", "gcc"),
        ("KAMI", "JPN", "commander", "gcc"),
    ):
        add_user(data, callsign, nation, "SECRET", roles=(role,), org=org)
        tokens[callsign] = cli("token", "create", "--data-dir", str(data), callsign).stdout.strip()
    server = ServerProcess(data, "--scenario", str(SCENARIOS / "alliance-jfhq.yaml")).start()
    yield data, tokens
    server.stop()


def run(data: Path, token: str, *args: str, check: bool = True) -> str:
    result = cli(*args, "--data-dir", str(data), env={"ALLIED_C2_TOKEN": token}, check=check)
    return result.stdout if check else result.stdout + result.stderr


def test_request_lifecycle_through_the_cli(served: tuple[Path, dict[str, str]]) -> None:
    data, tokens = served
    created = json.loads(
        run(
            data,
            tokens["GROUND-OPS"],
            "request",
            "submit",
            "--kind",
            "logistics_support",
            "--originator",
            "gcc",
            "--subject",
            "Rations for Exercise Resolute Dragon",
            "--marking",
            "SECRET//REL TO USA, JPN",
            "--json",
        )
    )
    rid = created["id"]
    assert created["holders"] == ["jjoc"] and created["route"]["decider"] == "js"
    listed = run(data, tokens["GROUND-OPS"], "request", "list")
    assert rid in listed and "SECRET//REL TO USA, JPN" in listed
    refused = run(data, tokens["KAMI"], "request", "act", rid, "approve", check=False)
    assert f"403: gcc does not hold {rid} (held by jjoc)" in refused
    # JJOC reviews logistics requests on their way (via the ministry) to the Joint Staff.
    run(data, tokens["SHOGUN"], "request", "act", rid, "forward")
    shown = " ".join(run(data, tokens["GROUND-OPS"], "request", "show", rid).split())
    assert "in_review; held by mod" in shown and "route: jjoc > mod > js" in shown
    withdrawn = json.loads(
        run(
            data,
            tokens["GROUND-OPS"],
            "request",
            "act",
            rid,
            "withdraw",
            "--reason",
            "covered by host-nation support",
            "--json",
        )
    )
    assert withdrawn["state"] == "withdrawn"


def test_readiness_through_the_cli(served: tuple[Path, dict[str, str]]) -> None:
    data, tokens = served
    posted = run(
        data,
        tokens["KAMI"],
        "readiness",
        "report",
        "--unit",
        "1abn",
        "--p",
        "1",
        "--s",
        "2",
        "--r",
        "1",
        "--t",
        "3",
        "--met",
        "Conduct airborne assault=Q",
    )
    assert "1abn C-3" in posted
    listed = json.loads(run(data, tokens["SHOGUN"], "readiness", "list", "--json"))
    assert [r["unit"] for r in listed["reports"]] == ["1abn"]
    rolled = json.loads(
        run(data, tokens["SHOGUN"], "readiness", "rollup", "--org", "gcc", "--json")
    )
    assert rolled["reported"] == 1 and rolled["worst"] == "C-3" and rolled["filtered"] is True
    table = run(data, tokens["SHOGUN"], "readiness", "rollup", "--by-nation")
    assert "JPN" in table and "USA" in table
    refused = run(
        data,
        tokens["KAMI"],
        "readiness",
        "report",
        "--unit",
        "3mardiv",
        "--p",
        "1",
        "--s",
        "1",
        "--r",
        "1",
        "--t",
        "1",
        check=False,
    )
    assert "403" in refused

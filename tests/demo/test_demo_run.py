"""`allied-c2 demo` end to end: one real run, observed as a newcomer and a TAK client would.

The demo runs as a subprocess for 20 s at 60x speed on free ports; while it
runs, an anonymous plain-TCP CoT client and HTTP clients holding the printed
tokens look at what it serves. Each test checks one thing about that run.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from allied_c2.cot.errors import CotError
from allied_c2.cot.framing import StreamFramer, XmlFrame
from allied_c2.cot.xmlcodec import parse_xml

ROOT = Path(__file__).resolve().parents[2]
DEMO = [sys.executable, "-m", "allied_c2", "demo"]
RUN_SECONDS = 20
NOFORN_UIDS = {"DEMO-USA-ISR-61", "DEMO-USA-SOF-11"}
REL_USA_JPN_UIDS = {"DEMO-USA-P8-72", "DEMO-JPN-P1-05"}
STAFF = ("USFJ-CDR", "USFJ-OPS", "INDOPACOM-CDR", "JJOC-CDR", "JSDF-HADR-OPS", "AFP-CDR")


@dataclass
class Observed:
    data_dir: Path
    stdout: list[str] = field(default_factory=list)
    stderr_path: Path | None = None
    endpoints: dict[str, Any] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    tcp_events: list[tuple[str, str | None, float, float]] = field(default_factory=list)
    pictures: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)
    readiness: list[dict[str, Any]] = field(default_factory=list)
    returncode: int | None = None
    ran_for: float = 0.0

    def log(self) -> str:
        err = self.stderr_path.read_text(errors="replace") if self.stderr_path else ""
        return "stdout:\n" + "".join(self.stdout) + "\nstderr:\n" + err[-6000:]


def _address(endpoint: str) -> tuple[str, int]:
    host, _, port = endpoint.rpartition(":")
    return host, int(port)


def _tokens(lines: list[str]) -> dict[str, str]:
    """Callsign -> token from the banner (a principal line, then its token line)."""
    tokens: dict[str, str] = {}
    callsign = None
    for line in lines:
        who = re.match(r"^\s+([A-Z][A-Z0-9-]+)\s+(USA|JPN|PHL)\s+", line)
        if who:
            callsign = who.group(1)
            continue
        token = re.match(r"^\s+token: (\S+)", line)
        if token and callsign:
            tokens[callsign] = token.group(1)
            callsign = None
    return tokens


def _listen_tcp(
    address: tuple[str, int], seconds: float, out: list[tuple[str, str | None, float, float]]
) -> None:
    framer = StreamFramer()
    deadline = time.monotonic() + seconds
    with socket.create_connection(address, timeout=5) as sock:
        sock.settimeout(0.5)
        while time.monotonic() < deadline:
            try:
                data = sock.recv(65536)
            except TimeoutError:
                continue
            if not data:
                return
            framer.receive_data(data)
            while (frame := framer.next_frame()) is not None:
                if not isinstance(frame, XmlFrame):
                    continue
                try:
                    event = parse_xml(frame.data)
                except CotError:
                    continue
                if not event.type.startswith("t-"):
                    out.append((event.uid, event.access, event.lat, event.lon))


def _picture(client: httpx.Client, token: str | None) -> list[dict[str, Any]]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = client.get("/api/v1/picture", headers=headers)
    response.raise_for_status()
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def _wait_for(predicate: Any, timeout: float, proc: subprocess.Popen[str], obs: Observed) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if proc.poll() is not None:
            raise AssertionError(f"demo exited {proc.returncode} early\n{obs.log()}")
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s\n{obs.log()}")


@pytest.fixture(scope="module")
def observed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Observed]:
    base = tmp_path_factory.mktemp("demo")
    stderr_path = base / "stderr.log"
    obs = Observed(data_dir=base / "data", stderr_path=stderr_path)
    args = [
        *DEMO,
        "--data-dir",
        str(obs.data_dir),
        "--cot-tcp",
        "127.0.0.1:0",
        "--cot-tls",
        "127.0.0.1:0",
        "--http",
        "127.0.0.1:0",
        "--enroll",
        "127.0.0.1:0",
        "--seconds",
        str(RUN_SECONDS),
        "--speed",
        "60",
    ]
    started = time.monotonic()
    with stderr_path.open("w") as stderr:
        proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=stderr, text=True)
        assert proc.stdout is not None
        stdout = proc.stdout
        reader = threading.Thread(target=lambda: obs.stdout.extend(stdout), daemon=True)
        reader.start()
        try:
            endpoints = obs.data_dir / "endpoints.json"
            _wait_for(endpoints.exists, 30, proc, obs)
            _wait_for(lambda: any("Stops by itself" in line for line in obs.stdout), 10, proc, obs)
            ready = time.monotonic()
            obs.endpoints = json.loads(endpoints.read_text())
            obs.tokens = _tokens(obs.stdout)
            tcp = threading.Thread(
                target=_listen_tcp,
                args=(_address(obs.endpoints["cot_tcp"]), 10.0, obs.tcp_events),
                daemon=True,
            )
            tcp.start()
            host, port = _address(obs.endpoints["http"])
            with httpx.Client(base_url=f"http://{host}:{port}", timeout=10) as client:
                time.sleep(3)
                for who in ("USFJ-CDR", "JJOC-CDR", "AFP-CDR"):
                    obs.pictures[who] = _picture(client, obs.tokens.get(who))
                obs.pictures["anonymous"] = _picture(client, None)
                time.sleep(max(0.0, ready + 9 - time.monotonic()))
                obs.pictures["USFJ-CDR later"] = _picture(client, obs.tokens.get("USFJ-CDR"))
                time.sleep(max(0.0, ready + 16 - time.monotonic()))
                us = {"Authorization": f"Bearer {obs.tokens.get('USFJ-CDR')}"}
                obs.requests = client.get("/api/v1/requests", headers=us).json()["requests"]
                obs.readiness = client.get("/api/v1/readiness", headers=us).json()["reports"]
            tcp.join(timeout=15)
            obs.returncode = proc.wait(timeout=RUN_SECONDS + 15)
            obs.ran_for = time.monotonic() - started
            reader.join(timeout=5)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    yield obs


def test_demo_stops_by_itself_cleanly(observed: Observed) -> None:
    assert observed.returncode == 0, observed.log()
    assert observed.ran_for < RUN_SECONDS + 20
    assert not (observed.data_dir / "endpoints.json").exists()  # removed by a clean stop
    assert (observed.data_dir / ".allied-c2-demo").is_file()


def test_banner_prints_url_tokens_and_tak_instructions(observed: Observed) -> None:
    text = "".join(observed.stdout)
    assert f"http://{observed.endpoints['http']}/" in text
    for callsign in STAFF:
        assert observed.tokens.get(callsign, "").startswith("ac2_"), text
    assert f"TCP {observed.endpoints['cot_tcp']}" in text
    assert f"SSL {observed.endpoints['cot_tls']}" in text
    assert "atakatak" in text
    for feed in ("SIM-USA", "SIM-JPN", "SIM-PHL"):
        assert (observed.data_dir / "certs" / f"{feed}.p12").is_file()
    demo_file = json.loads((observed.data_dir / "demo.json").read_text())
    by_callsign = {p["callsign"]: p for p in demo_file["principals"]}
    assert by_callsign["JJOC-CDR"]["token"] == observed.tokens["JJOC-CDR"]


def test_anonymous_tcp_client_sees_moving_unclassified_tracks_only(observed: Observed) -> None:
    events = [e for e in observed.tcp_events if e[0].startswith("DEMO-")]
    assert len(events) > 20, observed.log()
    assert {access for _, access, _, _ in events} == {"UNCLASSIFIED"}
    uids = {uid for uid, _, _, _ in events}
    assert not uids & (NOFORN_UIDS | REL_USA_JPN_UIDS)
    assert {"DEMO-USA-LPD20", "DEMO-JPN-LST4001", "DEMO-PHL-ENGR-TG"} <= uids
    positions: dict[str, set[tuple[float, float]]] = {}
    for uid, _, lat, lon in events:
        positions.setdefault(uid, set()).add((lat, lon))
    moved = [uid for uid, seen in positions.items() if len(seen) > 1]
    assert len(moved) >= 5, positions


def test_release_rules_differ_by_nation(observed: Observed) -> None:
    def uids(who: str) -> set[str]:
        return {item["uid"] for item in observed.pictures[who]}

    def banners(who: str) -> set[str]:
        return {item["marking"]["banner"] for item in observed.pictures[who]}

    assert uids("USFJ-CDR") >= NOFORN_UIDS
    assert uids("JJOC-CDR") >= REL_USA_JPN_UIDS
    assert not NOFORN_UIDS & uids("JJOC-CDR")
    assert not (NOFORN_UIDS | REL_USA_JPN_UIDS) & uids("AFP-CDR")
    assert "CONFIDENTIAL//REL TO USA, JPN, PHL" in banners("AFP-CDR")
    assert banners("anonymous") == {"UNCLASSIFIED"}
    assert len(uids("USFJ-CDR")) > len(uids("JJOC-CDR")) > len(uids("AFP-CDR"))


def test_positions_change_over_time(observed: Observed) -> None:
    before = {i["uid"]: (i["lat"], i["lon"]) for i in observed.pictures["USFJ-CDR"]}
    after = {i["uid"]: (i["lat"], i["lon"]) for i in observed.pictures["USFJ-CDR later"]}
    moved = [uid for uid in before if uid in after and before[uid] != after[uid]]
    assert "DEMO-USA-ISR-61" in moved  # an orbit never stops
    assert len(moved) >= 8, (before, after)
    fixed = "DEMO-PHL-PRC-TUG"
    assert before[fixed] == after[fixed]


def test_staff_requests_and_readiness_reach_the_board(observed: Observed) -> None:
    states = {r["state"] for r in observed.requests}
    assert {"approved", "denied", "returned", "coordination", "in_review"} <= states, states
    assert len(observed.readiness) >= 12
    assert any(r["stale"] for r in observed.readiness)

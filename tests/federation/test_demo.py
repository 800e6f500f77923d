"""`allied-c2 demo --federated`: three national servers, one real run.

The demo runs as a subprocess (its three servers on free loopback ports, each
with its own data dir and CA). While it runs, each server is asked over its
own HTTP API with its own admin token (from ``DATA_DIR/NATION/demo.json``):
the links are up, the US NOFORN track is only on the US server, a US track
REL TO USA, JPN reaches the JPN server but not the PHL one, and a request
filed in Manila is concurred on the US and JPN servers and approved.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.federation.support import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

ROOT = Path(__file__).resolve().parents[2]
NOFORN_US = "DEMO-USA-ISR-61"
REL_USA_JPN = "DEMO-USA-P8-72"
PHL_TRACK_PREFIX = "DEMO-PHL-"


def _demo_file(root: Path, nation: str) -> dict[str, Any] | None:
    path = root / nation.lower() / "demo.json"
    try:
        return dict(json.loads(path.read_text()))
    except (OSError, ValueError):
        return None


def _get(info: dict[str, Any], path: str, callsign: str) -> Any:
    token = next(p["token"] for p in info["principals"] if p["callsign"] == callsign)
    host, _, port = str(info["endpoints"]["http"]).rpartition(":")
    answer = httpx.get(
        f"http://{host}:{port}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    answer.raise_for_status()
    return answer.json()


# Read-only connections, each kept open until the demo has stopped: a connection of
# another process that closes while the server's are idle would checkpoint the WAL and
# delete it and the shared-memory file under the running server (SQLite I/O errors).
_OPEN: dict[Path, sqlite3.Connection] = {}


def _uids(info: dict[str, Any]) -> set[str]:
    """Every uid in the server's history: what the server holds."""
    data = info["principals"][0]["cert"]  # DATA_DIR/certs/...: the database is beside it
    db = Path(data).parents[1] / "allied-c2.db"
    conn = _OPEN.get(db)
    if conn is None:
        conn = _OPEN[db] = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    return {row[0] for row in conn.execute("SELECT DISTINCT uid FROM events")}


def test_three_national_servers_share_what_markings_allow(tmp_path: Path) -> None:
    root = tmp_path / "demo"
    argv = [sys.executable, "-m", "allied_c2", "demo", "--federated", "--data-dir", str(root)]
    argv += ["--seconds", "120", "--speed", "60"]  # stopped with SIGTERM once checked
    log = (tmp_path / "demo.log").open("wb")
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        infos = wait_for(
            lambda: (
                all(_demo_file(root, n) for n in ("USA", "JPN", "PHL"))
                and {n: _demo_file(root, n) for n in ("USA", "JPN", "PHL")}
            ),
            90,
            "three demo.json files",
        )
        usa, jpn, phl = infos["USA"], infos["JPN"], infos["PHL"]

        def links_up(info: dict[str, Any], admin: str) -> bool:
            body = _get(info, "/api/v1/federation", admin)
            return len(body["links"]) == 2 and all(x["state"] == "up" for x in body["links"])

        for info, admin in ((usa, "USA-ADMIN"), (jpn, "JPN-ADMIN"), (phl, "PHL-ADMIN")):
            wait_for(lambda i=info, a=admin: links_up(i, a), 60, f"{admin}'s links up")

        wait_for(lambda: REL_USA_JPN in _uids(jpn), 60, "US REL TO track on JPN")
        wait_for(
            lambda: any(u.startswith(PHL_TRACK_PREFIX) for u in _uids(jpn)),
            60,
            "a PHL track on the JPN server",
        )
        assert NOFORN_US in _uids(usa)
        assert NOFORN_US not in _uids(jpn) | _uids(phl)
        assert REL_USA_JPN not in _uids(phl)
        # The JPN commander's COP shows the US REL TO track, never the NOFORN one.
        picture = json.dumps(_get(jpn, "/api/v1/picture", "JJOC-CDR"))
        assert REL_USA_JPN in picture and NOFORN_US not in picture

        # The Manila airlift request (concurred from the US and JPN servers) is approved.
        def manila_airlift() -> str | None:
            listing = _get(phl, "/api/v1/requests", "AFP-CDR")["requests"]
            for found in listing:
                airlift = found["kind"] == "airlift_disaster_relief"
                if "@" not in found["id"] and airlift and found["state"] == "approved":
                    return str(found["id"])
            return None

        rid = wait_for(manila_airlift, 60, "the Manila airlift request approved")
        for info, who in ((usa, "INDOPACOM-CDR"), (jpn, "JJOC-CDR")):
            mirror = _get(info, f"/api/v1/requests/{rid}@PHL-SRV", who)
            assert mirror["state"] == "approved"
    finally:
        proc.send_signal(signal.SIGTERM)  # Ctrl+C's clean stop
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.5)
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        log.close()
        for conn in _OPEN.values():
            conn.close()
        _OPEN.clear()
    assert proc.returncode == 0, (tmp_path / "demo.log").read_text()[-4000:]

"""`allied-c2 serve` does not load what only a feature's first use needs (memory).

docs/benchmarks.md "Where the memory is": PyJWT with `cryptography` is about 10 MB
resident and rich about 2 MB; a server with the benchmark's listeners (CoT TCP, CoT
TLS with an existing CA, HTTP, metrics) needs none of them until a mission token,
a connection package, enrollment or federation is first used. A top-level import
of any of them on the serve path brings them back for the life of the process.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from allied_c2.pki.authority import init_ca

DEFERRED = ("cryptography", "jwt", "rich")

# Runs `allied-c2 serve` as the console script does (cli/main.py's serve path); once
# endpoints.json is written and /api/v1/health has answered, prints which of the
# deferred modules are loaded and stops the server as a terminal's Ctrl+C would.
SCRIPT = """
import http.client, json, os, signal, sys, threading, time
from pathlib import Path

data_dir = Path(sys.argv[1])
deferred = json.loads(sys.argv[2])

def report() -> None:
    endpoints = data_dir / "endpoints.json"
    deadline = time.monotonic() + 90
    while not endpoints.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)
    found = json.loads(endpoints.read_text())
    host, _, port = found["http"].rpartition(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.request("GET", "/api/v1/health")
    status = conn.getresponse().status
    loaded = sorted(m for m in deferred if m in sys.modules)
    print(json.dumps({"endpoints": sorted(found), "health": status, "loaded": loaded}))
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGINT)

threading.Thread(target=report, daemon=True).start()
sys.argv = ["allied-c2", "serve", "--data-dir", str(data_dir), "--cot-tcp", "127.0.0.1:0",
            "--cot-tls", "127.0.0.1:0", "--http", "127.0.0.1:0", "--metrics", "127.0.0.1:0"]
from allied_c2.cli.main import main
main()
"""


def test_serve_start_does_not_load_deferred_modules(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o700)
    init_ca(data_dir)  # as `allied-c2 ca init` (bench/tls.py): serve only loads it
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(data_dir), json.dumps(DEFERRED)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert lines, f"no report (exit {done.returncode}):\n{done.stderr[-3000:]}"
    report = json.loads(lines[-1])
    assert {"cot_tcp", "cot_tls", "http", "metrics"} <= set(report["endpoints"])
    assert report["health"] == 200
    assert report["loaded"] == [], (
        f"{report['loaded']} imported at serve start; import them where first used "
        "(docs/benchmarks.md 'Where the memory is')"
    )


def test_web_default_stream_port_is_the_packages_one() -> None:
    from allied_c2.pki.connection_package import STREAM_PORT
    from allied_c2.web import packages_api

    assert packages_api.STREAM_PORT == STREAM_PORT

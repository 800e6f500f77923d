"""The soak for two minutes, in `make test`: the hour's checks with looser bounds.

Runs bench/soak.py as `make soak` does (50 senders × 10/s → 50 receivers over TLS,
10 % reconnecting, WebSocket viewers, API polling) for 120 s with a 30 s warm-up and
the "short" bounds of bench/soakreport.py; its JSON and plot stay in the test's
temporary directory and in test-artifacts/reliability/.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.reliability.support import ARTIFACTS, record

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(480)  # two minutes of load plus start-up, on a shared machine
def test_two_minute_soak(tmp_path: Path) -> None:
    out = tmp_path / "soak"
    done = subprocess.run(
        [sys.executable, "-m", "bench.soak", "--out", str(out), "--duration", "120",
         "--warmup", "30", "--interval", "5", "--reconnect-every", "20", "--bounds", "short"],
        capture_output=True, text=True, cwd=ROOT, timeout=400, check=False,
    )  # fmt: skip
    assert (out / "soak.json").exists(), done.stdout + done.stderr
    result = json.loads((out / "soak.json").read_text())
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(out / "soak.png", ARTIFACTS / "soak_short.png")
    record(
        "soak_short",
        {k: v for k, v in result.items() if k != "samples"} | {"samples": len(result["samples"])},
    )
    failed = [c for c in result["checks"] if not c["pass"]]
    assert not failed, json.dumps(failed, indent=2)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]

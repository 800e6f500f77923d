"""`allied-c2 demo` as a subprocess on free ports, for browser tests and README screenshots."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.support.server import ROOT

README_IMAGES = ROOT / "docs" / "img"


class DemoProcess:
    def __init__(self, data_dir: Path, seconds: float = 1200.0, speed: float = 30.0) -> None:
        self.data_dir = data_dir
        self.args = [
            sys.executable,
            "-m",
            "allied_c2",
            "demo",
            "--data-dir",
            str(data_dir),
            "--cot-tcp",
            "127.0.0.1:0",
            "--cot-tls",
            "127.0.0.1:0",
            "--http",
            "127.0.0.1:0",
            "--enroll",
            "off",
            "--seconds",
            str(seconds),
            "--speed",
            str(speed),
        ]
        self.proc: subprocess.Popen[bytes] | None = None
        self.info: dict[str, Any] = {}
        self.started = 0.0  # time.time() when the demo was up: its history begins about then

    def start(self, timeout: float = 180.0) -> DemoProcess:
        log = (self.data_dir.parent / f"{self.data_dir.name}.log").open("ab")
        self.proc = subprocess.Popen(self.args, cwd=ROOT, stdout=log, stderr=log)
        deadline = time.monotonic() + timeout
        info = self.data_dir / "demo.json"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"demo exited {self.proc.returncode}")
            if info.exists():
                try:
                    self.info = json.loads(info.read_text())
                    self.started = time.time()
                    return self
                except json.JSONDecodeError:
                    pass
            time.sleep(0.2)
        self.stop()
        raise AssertionError(f"demo did not start in {timeout} s")

    @property
    def url(self) -> str:
        return f"http://{self.info['endpoints']['http']}"

    @property
    def tokens(self) -> dict[str, str]:
        return {p["callsign"]: p["token"] for p in self.info["principals"]}

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def keep_for_readme(shot: Path) -> None:
    """With ALLIED_C2_README_IMAGES=1, the screenshot also replaces docs/img/<name>.png."""
    if os.environ.get("ALLIED_C2_README_IMAGES") == "1":
        README_IMAGES.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, README_IMAGES / shot.name)

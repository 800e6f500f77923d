"""A real allied-c2 server in a subprocess, as an operator would run it."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import traceback
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "allied_c2"]


# Commands that run until stopped or start processes of their own: always a subprocess.
_LONG_RUNNING = {"serve", "demo", "watch"}
_IN_PROCESS = threading.Lock()  # Typer's runner swaps sys.stdout and os.environ


def cli(
    *args: str, check: bool = True, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``allied-c2 ARGS`` and return the completed process (text output).

    Administration commands run in this process, through Typer's test runner on a
    thread of their own (so a command that runs an event loop works from an async test),
    one at a time: a new interpreter pays ~1.2 s of CPU importing the command line, and
    the suite's ~200 calls (users, tokens, CAs, federates for every fixture) were a third
    of `make test`'s CPU. The code run is the same; the console script itself is run as a
    subprocess in tests/cli/test_cli_pki_store.py. Long-running commands stay subprocesses.
    """
    if args and args[0] in _LONG_RUNNING:
        result = _cli_subprocess(args, env)
    else:
        with _IN_PROCESS:
            holder: list[subprocess.CompletedProcess[str]] = []
            thread = threading.Thread(target=lambda: holder.append(_cli_in_process(args, env)))
            thread.start()
            thread.join(120)
        if not holder:
            raise AssertionError(f"allied-c2 {' '.join(args)} did not finish in 120 s")
        result = holder[0]
    if check and result.returncode != 0:
        raise AssertionError(
            f"allied-c2 {' '.join(args)} exited {result.returncode}\n"
            f"stdout: {result.stdout}\nstderr: {result.stderr}"
        )
    return result


def _cli_in_process(
    args: tuple[str, ...], env: dict[str, str] | None
) -> subprocess.CompletedProcess[str]:
    from typer.testing import CliRunner

    from allied_c2.cli.main import build_app

    done = CliRunner().invoke(build_app(), list(args), env=env, catch_exceptions=True)
    stderr = done.stderr
    if done.exception is not None and not isinstance(done.exception, SystemExit):
        # What the interpreter would have printed before exiting 1.
        stderr += "".join(traceback.format_exception(done.exception))
    return subprocess.CompletedProcess(
        ["allied-c2", *args], done.exit_code, stdout=done.stdout, stderr=stderr
    )


def _cli_subprocess(
    args: tuple[str, ...], env: dict[str, str] | None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
    )


def add_user(
    data_dir: Path,
    callsign: str,
    nation: str,
    clearance: str,
    *,
    roles: tuple[str, ...] = (),
    org: str | None = None,
    out: Path | None = None,
) -> None:
    """``allied-c2 user add`` with the given identity (and certificate files in ``out``)."""
    args = ["user", "add", "--data-dir", str(data_dir), "--callsign", callsign]
    args += ["--nation", nation, "--clearance", clearance]
    for role in roles:
        args += ["--role", role]
    if org is not None:
        args += ["--org", org]
    if out is not None:
        args += ["--out", str(out)]
    cli(*args)


class ServerProcess:
    def __init__(
        self, data_dir: Path, *extra: str, tls: bool = False, http: bool = True, udp: bool = False
    ) -> None:
        self.data_dir = data_dir
        args = [
            "serve",
            "--data-dir",
            str(data_dir),
            "--cot-tcp",
            "127.0.0.1:0",
            "--cot-tls",
            "127.0.0.1:0" if tls else "off",
            "--http",
            "127.0.0.1:0" if http else "off",
        ]
        if udp:
            args += ["--cot-udp", "127.0.0.1:0"]
        self.args = [*args, *extra]
        self.proc: subprocess.Popen[bytes] | None = None
        self.endpoints: dict[str, Any] = {}
        self.log_path = data_dir / "server.log"

    def start(self, timeout: float = 30.0) -> ServerProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        endpoints = self.data_dir / "endpoints.json"
        endpoints.unlink(missing_ok=True)
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen([*CLI, *self.args], cwd=ROOT, stdout=log, stderr=log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited {self.proc.returncode}:\n{self.log()}")
            if endpoints.exists():
                try:
                    self.endpoints = json.loads(endpoints.read_text())
                except json.JSONDecodeError:
                    time.sleep(0.05)
                    continue
                if "http" not in self.endpoints or self.healthy():
                    return self
            time.sleep(0.05)
        self.kill()
        raise AssertionError(f"server did not start in {timeout}s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def address(self, name: str) -> tuple[str, int]:
        host, _, port = str(self.endpoints[name]).rpartition(":")
        return host, int(port)

    @property
    def url(self) -> str:
        host, port = self.address("http")
        return f"http://{host}:{port}"

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/api/v1/health", timeout=2) as resp:
                return bool(resp.status == 200)
        except OSError:
            return False

    def get_json(self, path: str, token: str | None = None) -> Any:
        request = urllib.request.Request(f"{self.url}{path}")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        with urllib.request.urlopen(request, timeout=10) as resp:
            return json.loads(resp.read())

    def stop(self, timeout: float = 20.0) -> int:
        """A clean stop (SIGTERM), as an operator or a service manager would do."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"server did not stop in {timeout}s:\n{self.log()}") from None

    def kill(self) -> None:
        """A hard kill (SIGKILL): no clean shutdown at all."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def create_token(data_dir: Path, callsign: str) -> str:
    """``allied-c2 token create CALLSIGN``: the bearer token it prints."""
    out = cli("token", "create", callsign, "--data-dir", str(data_dir)).stdout
    lines = (line.strip() for line in out.splitlines())
    return next(line for line in lines if re.fullmatch(r"\S{16,}", line))

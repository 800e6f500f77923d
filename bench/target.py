"""Servers under test, run as subprocesses pinned to their own core.

Every process started here is registered and stopped (SIGTERM, then SIGKILL) by
:func:`stop_all`, which bench.run calls on every exit path, Ctrl+C included. Children
get their own session so a terminal's Ctrl+C reaches only the orchestrator, which
then stops them in order.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import signal
import socket
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SERVER_CORE = 0
LOADGEN_CORE = 1
_LIVE: list[subprocess.Popen[bytes]] = []


class TargetError(RuntimeError):
    pass


def two_cores() -> bool:
    return len(os.sched_getaffinity(0)) >= 2 and (os.cpu_count() or 1) >= 2


def _child_setup(core: int | None) -> None:
    # Runs in the child between fork and exec: pin, and lift the open-files limit so
    # the idle scenario's ten thousand connections fit.
    if core is not None:
        os.sched_setaffinity(0, {core})
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    # The child has its own session, so with CONFIG_SCHED_AUTOGROUP it competes as its
    # own scheduling group, where an inherited niceness (--nice) means nothing against
    # other sessions: give the group the same niceness (root only; ignored otherwise).
    nice = os.getpriority(os.PRIO_PROCESS, 0)
    if nice < 0:
        try:
            with open("/proc/self/autogroup", "w") as group:
                group.write(str(nice))
        except OSError:
            pass


@dataclass
class Target:
    name: str
    proc: subprocess.Popen[bytes]
    data_dir: Path
    cot: tuple[str, int]
    http: tuple[str, int] | None
    pid: int
    log: Path
    notes: list[str] = field(default_factory=list)
    # The loopback metrics listener (--metrics): /metrics on the API needs an admin.
    metrics_addr: tuple[str, int] | None = None
    # The client side of a mutual-TLS target (bench/tls.py); None: plain TCP.
    client_tls: ssl.SSLContext | None = None

    def status_kb(self, key: str) -> int:
        """``VmRSS``, ``VmHWM`` (peak RSS) … of the server process, in KiB."""
        try:
            with open(f"/proc/{self.pid}/status") as f:
                for line in f:
                    if line.startswith(key + ":"):
                        return int(line.split()[1])
        except OSError:
            pass
        return 0

    def cpu_s(self) -> float:
        """User + system CPU seconds of the server process (all its threads)."""
        try:
            with open(f"/proc/{self.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            return 0.0

    async def metrics(self, limit_s: float = 30.0) -> dict[str, float]:
        """The server's Prometheus samples (name with labels → value); {} without /metrics.

        The limit is generous: a server still working off a saturation backlog answers
        late, and a late answer is still the right count."""
        addr = self.metrics_addr or self.http
        if addr is None:
            return {}
        try:
            text = await http_get(addr, "/metrics", limit_s=limit_s)
        except (OSError, TimeoutError, TargetError):
            return {}
        return parse_prometheus(text)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        _stop(self.proc)


def parse_prometheus(text: str) -> dict[str, float]:
    samples: dict[str, float] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name, _, value = line.rpartition(" ")
        try:
            samples[name.strip()] = float(value)
        except ValueError:
            continue
    return samples


def metric_sum(samples: dict[str, float], name: str) -> float:
    """Sum over every label set of ``name`` (exact family name, labels ignored)."""
    return sum(v for k, v in samples.items() if k == name or k.startswith(name + "{"))


def metric_by_label(samples: dict[str, float], name: str) -> dict[str, float]:
    return {k[len(name) :]: v for k, v in samples.items() if k.startswith(name + "{")}


async def http_get(addr: tuple[str, int], path: str, limit_s: float = 5.0) -> str:
    async def fetch() -> str:
        reader, writer = await asyncio.open_connection(*addr)
        try:
            writer.write(f"GET {path} HTTP/1.0\r\nHost: {addr[0]}\r\n\r\n".encode())
            data = await reader.read()
        finally:
            writer.close()
        head, _, body = data.partition(b"\r\n\r\n")
        status = head.split(b" ", 2)[1] if head.count(b" ") >= 1 else b"?"
        if status != b"200":
            raise TargetError(f"GET {path}: HTTP {status.decode(errors='replace')}")
        return body.decode(errors="replace")

    return await asyncio.wait_for(fetch(), limit_s)


def _addr(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    return host, int(port)


def _stop(proc: subprocess.Popen[bytes], grace: float = 15.0) -> None:
    if proc.poll() is None:
        try:
            proc.send_signal(signal.SIGTERM)
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        except ProcessLookupError:
            pass
    if proc in _LIVE:
        _LIVE.remove(proc)


def stop_all() -> None:
    for proc in list(_LIVE):
        _stop(proc, grace=5.0)


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _spawn(argv: list[str], log: Path, core: int | None) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            argv,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=lambda: _child_setup(core),
            start_new_session=True,
            cwd=ROOT,
        )
    _LIVE.append(proc)
    return proc


async def start(
    name: str,
    argv: list[str],
    data_dir: Path,
    *,
    pin: bool,
    health: str | None = None,
    ready_timeout: float = 60.0,
    listener: str = "cot_tcp",
) -> Target:
    """Start ``argv`` and wait for ``data_dir/endpoints.json`` (and ``health`` on HTTP).

    ``listener`` names the endpoint the load goes to (``cot_tls`` for the TLS rows)."""
    await asyncio.to_thread(data_dir.mkdir, parents=True, exist_ok=True)
    endpoints_file = data_dir / "endpoints.json"
    await asyncio.to_thread(endpoints_file.unlink, missing_ok=True)
    log = data_dir / "server.log"
    proc = _spawn(argv, log, SERVER_CORE if pin else None)
    deadline = time.monotonic() + ready_timeout
    endpoints: dict[str, object] | None = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise TargetError(f"{name} exited with {proc.returncode}:\n{_tail(log)}")
        try:
            endpoints = json.loads(await asyncio.to_thread(endpoints_file.read_text))
            break
        except (OSError, ValueError):
            await asyncio.sleep(0.1)
    if endpoints is None:
        _stop(proc)
        raise TargetError(f"{name} wrote no {endpoints_file} in {ready_timeout:.0f} s")
    http = _addr(str(endpoints["http"])) if endpoints.get("http") else None
    pid = int(str(endpoints.get("pid", proc.pid)))
    target = Target(name, proc, data_dir, _addr(str(endpoints[listener])), http, pid, log)
    if endpoints.get("metrics"):
        target.metrics_addr = _addr(str(endpoints["metrics"]))
    if health is not None and http is not None:
        while True:
            try:
                await http_get(http, health, limit_s=2.0)
                break
            except (OSError, TimeoutError, TargetError):
                if time.monotonic() > deadline or proc.poll() is not None:
                    _stop(proc)
                    raise TargetError(f"{name}: {health} never answered 200") from None
                await asyncio.sleep(0.1)
    return target


def alliedc2_argv(data_dir: Path, tls: bool = False) -> list[str]:
    script = Path(sys.executable).with_name("allied-c2")
    base = [str(script)] if script.exists() else [sys.executable, "-m", "allied_c2"]
    return [
        *base,
        "serve",
        "--data-dir",
        str(data_dir),
        "--cot-tcp",
        "127.0.0.1:0",
        "--cot-tls",
        "127.0.0.1:0" if tls else "off",
        "--http",
        "127.0.0.1:0",
        "--metrics",
        "127.0.0.1:0",
    ]


def rawrelay_argv(data_dir: Path, per_event: bool = False) -> list[str]:
    argv = [sys.executable, "-m", "bench.rawrelay", "--data-dir", str(data_dir)]
    return [*argv, "--per-event"] if per_event else argv


async def start_alliedc2(data_dir: Path, pin: bool) -> Target:
    return await start(
        "allied-c2", alliedc2_argv(data_dir), data_dir, pin=pin, health="/api/v1/health"
    )


async def start_alliedc2_tls(data_dir: Path, pin: bool) -> Target:
    """allied-c2 with its mutual-TLS listener as the load's target (bench/tls.py)."""
    from bench.tls import prepare

    material = await asyncio.to_thread(prepare, data_dir)
    argv = alliedc2_argv(data_dir, tls=True)
    target = await start(
        "allied-c2", argv, data_dir, pin=pin, health="/api/v1/health", listener="cot_tls"
    )
    target.client_tls = material.client_context()
    return target


async def start_rawrelay_tls(data_dir: Path, pin: bool) -> Target:
    from bench.tls import prepare

    material = await asyncio.to_thread(prepare, data_dir)
    argv = [*rawrelay_argv(data_dir), "--tls"]
    target = await start("raw relay", argv, data_dir, pin=pin, listener="cot_tls")
    target.client_tls = material.client_context()
    return target


async def start_rawrelay(data_dir: Path, pin: bool) -> Target:
    return await start("raw relay", rawrelay_argv(data_dir), data_dir, pin=pin)


async def start_rawrelay_per_event(data_dir: Path, pin: bool) -> Target:
    return await start("raw relay, per event", rawrelay_argv(data_dir, True), data_dir, pin=pin)


def free_port() -> int:
    """A loopback port free right now, for servers that cannot bind port 0 themselves."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def start_at_port(
    name: str,
    argv: list[str],
    data_dir: Path,
    port: int,
    *,
    pin: bool,
    ready_timeout: float = 30.0,
) -> Target:
    """Start a server told its port on the command line; ready once the port accepts."""
    log = data_dir / "server.log"
    proc = _spawn(argv, log, SERVER_CORE if pin else None)
    deadline = time.monotonic() + ready_timeout
    while True:
        if proc.poll() is not None:
            raise TargetError(f"{name} exited with {proc.returncode}:\n{_tail(log)}")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            break
        except OSError:
            if time.monotonic() > deadline:
                _stop(proc)
                raise TargetError(f"{name} never listened on {port}") from None
            await asyncio.sleep(0.2)
    return Target(name, proc, data_dir, ("127.0.0.1", port), None, proc.pid, log)


def system_busy_s() -> float:
    """CPU seconds spent busy by every core since boot (from /proc/stat)."""
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()[1:]
    except OSError:
        return 0.0
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def self_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime

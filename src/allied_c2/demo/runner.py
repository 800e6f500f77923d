"""`allied-c2 demo`: a fresh server with people, a scenario and live traffic, in one process.

The server is built and run exactly as ``allied-c2 serve`` runs it
(:func:`~allied_c2.app.build_runtime`, :func:`~allied_c2.app.run_runtime`, one
uvloop event loop); the simulator and the staff are ordinary clients of it in
the same loop: TLS CoT connections and HTTP API calls, nothing injected.
Shutdown is ordered: the clients stop and disconnect first, then the server
stops as ``serve`` does on SIGINT/SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from allied_c2.alliance.model import Structure
from allied_c2.alliance.scenario import load_structure
from allied_c2.config import Config
from allied_c2.demo import banner
from allied_c2.demo.datadir import prepare
from allied_c2.demo.motion import Track
from allied_c2.demo.principals import Issued, provision
from allied_c2.demo.routes import demo_tracks
from allied_c2.demo.simulator import Feed, SimClock, build_feeds, connect_host, run_feeds
from allied_c2.demo.staff import Staff, StaffResults
from allied_c2.logs import setup_logging

log = logging.getLogger("allied_c2.demo")

SCENARIO_NAME = "trilateral-hadr.yaml"
READY_TIMEOUT = 60.0
CLIENTS_STOP_TIMEOUT = 10.0


@dataclass(frozen=True, slots=True)
class DemoOptions:
    config: Config  # data dir, listeners and scenario, as `serve` builds it
    speed: float = 30.0
    seconds: float | None = None  # stop by itself after this long (tests)


def default_scenario() -> Path:
    """The shipped trilateral disaster-relief scenario (package data, else the repository's)."""
    packaged = resources.files("allied_c2") / "scenarios" / SCENARIO_NAME
    candidates = [
        Path(str(packaged)),
        Path(__file__).resolve().parents[3] / "scenarios" / SCENARIO_NAME,
        Path.cwd() / "scenarios" / SCENARIO_NAME,
    ]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f"{SCENARIO_NAME} not found (looked in {', '.join(str(c) for c in candidates)}); "
        "give one with --scenario"
    )


def run_demo(options: DemoOptions) -> StaffResults | None:
    """Prepare a fresh data dir, issue identities, run until a signal or ``seconds``."""
    config = options.config
    setup_logging(config.log_level, config.log_json)
    # The staff log their own steps; schema migrations of a fresh database are not news.
    for noisy in ("httpx", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if config.scenario is None:
        raise ValueError("the demo needs a scenario (Config.scenario)")
    prepare(config.data_dir)
    structure = load_structure(config.scenario)
    issued = provision(config, structure)
    import uvloop

    return uvloop.run(_run(options, structure, issued, demo_tracks()))


async def _run(
    options: DemoOptions, structure: Structure, issued: list[Issued], tracks: list[Track]
) -> StaffResults | None:
    from allied_c2.app import build_runtime, run_runtime

    config = options.config
    runtime = build_runtime(config)
    loop = asyncio.get_running_loop()
    demo_stop = asyncio.Event()
    server_stop = asyncio.Event()
    _install_signal_handlers(loop, demo_stop)
    server = asyncio.create_task(run_runtime(runtime, server_stop))
    try:
        endpoints = await _wait_ready(config.data_dir, server)
        write_demo_file(config.data_dir, endpoints, issued)
        sys.stdout.write(
            banner.render(
                endpoints,
                issued,
                structure,
                tracks,
                config.data_dir,
                options.speed,
                options.seconds,
            )
        )
        sys.stdout.flush()
        if options.seconds is not None:
            loop.call_later(options.seconds, demo_stop.set)
        feeds = _feeds(endpoints, issued, tracks, options.speed, loop)
        staff = _staff(endpoints, issued)
        clients: list[asyncio.Task[Any]] = [asyncio.create_task(run_feeds(feeds, demo_stop))]
        if staff is not None:
            clients.append(asyncio.create_task(staff.run(demo_stop)))
        stop_wait = asyncio.create_task(demo_stop.wait())
        await asyncio.wait({stop_wait, server}, return_when=asyncio.FIRST_COMPLETED)
        stop_wait.cancel()
        demo_stop.set()
        await _stop_clients(clients)
        sent = sum(feed.sent for feed in feeds)
        results = staff.results if staff is not None else None
        log.info("demo stopping: %d position reports sent%s", sent, _summary(results))
        return results
    finally:
        server_stop.set()
        await server  # re-raises a server failure


def _install_signal_handlers(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    """The first Ctrl+C/SIGTERM stops cleanly; a second one gets the default behaviour."""

    def first(sig: signal.Signals) -> None:
        log.info("%s received: stopping the demo", sig.name)
        for each in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, ValueError):
                loop.remove_signal_handler(each)
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, first, sig)


async def _wait_ready(data_dir: Path, server: asyncio.Task[None]) -> dict[str, str]:
    """The bound addresses, once the server has written ``endpoints.json``."""
    path = data_dir / "endpoints.json"
    deadline = asyncio.get_running_loop().time() + READY_TIMEOUT
    while asyncio.get_running_loop().time() < deadline:
        if server.done():
            server.result()  # raises the failure
            raise RuntimeError("the server stopped before it was ready")
        if path.exists():
            with contextlib.suppress(ValueError, OSError):
                data = json.loads(path.read_text())
                return {k: str(v) for k, v in data.items() if k != "pid"}
        await asyncio.sleep(0.05)
    raise TimeoutError(f"the server did not write {path} within {READY_TIMEOUT:g} s")


def _address(endpoint: str) -> tuple[str, int]:
    host, _, port = endpoint.rpartition(":")
    return connect_host(host.strip("[]")), int(port)


def _feeds(
    endpoints: dict[str, str],
    issued: list[Issued],
    tracks: list[Track],
    speed: float,
    loop: asyncio.AbstractEventLoop,
) -> list[Feed]:
    if "cot_tls" not in endpoints:
        log.warning("the CoT TLS listener is off: the simulator needs it, so no tracks move")
        return []
    bundles = {i.user.nation: i.bundle for i in issued if i.user.feed}
    host, port = _address(endpoints["cot_tls"])
    return build_feeds(tracks, bundles, host, port, SimClock(speed, loop.time))


def _staff(endpoints: dict[str, str], issued: list[Issued]) -> Staff | None:
    if "http" not in endpoints:
        log.warning("the HTTP listener is off: no requests or readiness reports are filed")
        return None
    host, port = _address(endpoints["http"])
    authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return Staff(f"http://{authority}", {i.user.callsign: i.token for i in issued})


async def _stop_clients(clients: Sequence[asyncio.Task[Any]]) -> None:
    done, pending = await asyncio.wait(clients, timeout=CLIENTS_STOP_TIMEOUT)
    for task in pending:
        task.cancel()
    for task in (*done, *pending):
        with contextlib.suppress(asyncio.CancelledError):
            exc = None if task.cancelled() else task.exception()
            if exc is not None:
                log.error("demo client failed: %r", exc)


def _summary(results: StaffResults | None) -> str:
    if results is None:
        return ""
    return (
        f", {len(results.filed)} requests filed, {results.actions} actions, "
        f"{results.reports} readiness reports"
    )


def write_demo_file(data_dir: Path, endpoints: dict[str, str], issued: list[Issued]) -> Path:
    """``DATA_DIR/demo.json``: endpoints and each principal's token and files (mode 0600)."""
    path = data_dir / "demo.json"
    data = {
        "endpoints": endpoints,
        "principals": [
            {
                "callsign": i.user.callsign,
                "nation": i.user.nation,
                "clearance": i.user.clearance,
                "roles": list(i.user.roles),
                "organisation": i.user.organisation,
                "feed": i.user.feed,
                "token": i.token,
                "p12": str(i.bundle.p12),
                "cert": str(i.bundle.cert),
                "key": str(i.bundle.key),
                "ca": str(i.bundle.ca),
            }
            for i in issued
        ],
    }
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(data, out, indent=2)
        out.write("\n")
    return path

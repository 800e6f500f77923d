"""`serve --workers N`: N processes on one host as one logical server (docs/scaling.md).

Each worker is a node of the cluster (``--cluster``, ``--database-url``): the picture,
history, requests and principals are shared there, not between the processes. All
workers bind the same CoT, UDP and HTTP(S) ports with SO_REUSEPORT and the kernel
spreads new connections over them (by a hash of the connection's addresses). The
listeners that must exist once per logical server (federation: one link per peer;
certificate enrollment; the loopback metrics port, per process by nature) run in the
first worker only, which alone writes ``endpoints.json``. A worker that dies is started
again (after 1 s, doubling to 30 s while it keeps dying); SIGTERM or Ctrl+C stops all.
"""

from __future__ import annotations

import multiprocessing
import signal
import socket
import time
from dataclasses import replace
from multiprocessing.process import BaseProcess
from types import FrameType

import typer

from allied_c2.cluster.settings import ClusterSettings
from allied_c2.config import Config, Endpoint

_SHARED = ("cot_tcp", "cot_tls", "cot_udp", "http", "https")
_FIRST_ONLY = ("federation", "enroll", "metrics")


def _concrete(endpoint: Endpoint, kind: int) -> Endpoint:
    """Port 0 ("any free port") must be one port for every worker: choose it here."""
    if endpoint.port != 0:
        return endpoint
    family = socket.AF_INET6 if ":" in endpoint.host else socket.AF_INET
    with socket.socket(family, kind) as probe:
        probe.bind((endpoint.host, 0))
        return Endpoint(endpoint.host, probe.getsockname()[1])


def worker_configs(
    config: Config, cluster: ClusterSettings, workers: int
) -> list[tuple[Config, ClusterSettings]]:
    """Each worker's settings: the shared listeners on fixed ports with SO_REUSEPORT,
    the once-per-server ones in the first worker, a node id per worker."""
    shared: dict[str, Endpoint | None] = {}
    for name in _SHARED:
        endpoint = getattr(config, name)
        kind = socket.SOCK_DGRAM if name == "cot_udp" else socket.SOCK_STREAM
        shared[name] = None if endpoint is None else _concrete(endpoint, kind)
    out = []
    for index in range(workers):
        first = index == 0
        once = {name: getattr(config, name) if first else None for name in _FIRST_ONLY}
        worker = replace(config, reuse_port=True, endpoints_file=first, **shared, **once)  # type: ignore[arg-type]
        out.append((worker, replace(cluster, node_id=f"{cluster.node_id}-w{index}")))
    return out


def _worker(config: Config, cluster: ClusterSettings) -> None:
    from allied_c2.cli.server import run_server

    run_server(config, cluster)


def run_workers(config: Config, cluster: ClusterSettings, workers: int) -> None:
    """Start the workers and keep them running until SIGTERM or Ctrl+C."""
    context = multiprocessing.get_context("spawn")  # a clean interpreter, no inherited loop
    plans = worker_configs(config, cluster, workers)
    procs: list[BaseProcess | None] = [None] * workers
    backoff = [1.0] * workers
    due = [0.0] * workers
    started_at = [0.0] * workers
    stopping = False

    def stop(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    typer.echo(f"allied-c2: {workers} workers, nodes {cluster.node_id}-w0…w{workers - 1}")
    while not stopping:
        now = time.monotonic()
        for index, proc in enumerate(procs):
            if proc is not None and proc.is_alive():
                continue
            if proc is not None:  # it died: start it again, later each time it keeps dying
                typer.echo(f"worker {index} exited ({proc.exitcode}); restarting", err=True)
                if now - started_at[index] > 60:
                    backoff[index] = 1.0  # it had been running: not a crash loop
                due[index] = now + backoff[index]
                backoff[index] = min(backoff[index] * 2, 30.0)
                procs[index] = None
            if now >= due[index]:
                started = context.Process(
                    target=_worker, args=plans[index], name=f"allied-c2-w{index}", daemon=False
                )
                started.start()
                procs[index] = started
                started_at[index] = now
        time.sleep(0.2)
    for proc in procs:
        if proc is not None and proc.is_alive():
            proc.terminate()  # SIGTERM: each worker stops cleanly (history, audit flushed)
    for proc in procs:
        if proc is not None:
            proc.join(timeout=30)
            if proc.is_alive():
                proc.kill()

"""Load, witnesses and measurements for the fault tests (docs/reliability.md).

The traffic is bench/events.py's ATAK-shaped PLIs: each carries its sender, sequence
number and send time, so a witness client (:class:`Recorder`) knows exactly which
events the server accepted (it relayed them) and the database can be checked event
by event against that.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import resource
import socket
import sqlite3
import ssl
import time
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.events import BENCH_RE, EVENT_END, TimeStrings, pli, sender_uid

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "reliability"

Seq = tuple[int, int]  # (sender, sequence number)


def raise_nofile() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def record(name: str, figures: dict[str, Any]) -> Path:
    """Write a test's measured figures where docs/reliability.md's numbers come from."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.json"
    path.write_text(json.dumps(figures, indent=2, default=str) + "\n")
    print(f"{name}: {json.dumps(figures, default=str)}")
    return path


def fd_count(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def seqs_in(data: bytes) -> list[Seq]:
    return [(int(m[1]), int(m[2])) for m in BENCH_RE.finditer(data)]


class Recorder(asyncio.Protocol):
    """A TAK client that notes when each benchmark event reached it."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buf = b""
        self.seen: dict[Seq, float] = {}
        self.events = 0
        self.raw_uids: list[bytes] = []
        self.lost = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        buf = self.buf + data
        end = buf.rfind(EVENT_END)
        if end < 0:
            self.buf = buf
            return
        end += len(EVENT_END)
        now = time.monotonic()
        for key in seqs_in(buf[:end]):
            self.seen.setdefault(key, now)
            self.events += 1
        self.buf = buf[end:]

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.lost.done():
            self.lost.set_result(None)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


class Sender(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.lost = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        pass  # senders are clients too: they drain what they are sent

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


@dataclass
class Load:
    """``senders`` clients sending ``rate`` events/s each, on absolute times."""

    host: str
    port: int
    senders: int = 20
    rate: float = 50.0
    tls: ssl.SSLContext | None = None
    first_sender: int = 0  # sender indices (and so uids) start here
    clients: list[Sender] = field(default_factory=list)
    sent: dict[Seq, float] = field(default_factory=dict)
    next_seq: dict[int, int] = field(default_factory=dict)
    _task: asyncio.Task[None] | None = None

    async def start(self) -> Load:
        loop = asyncio.get_running_loop()
        for _ in range(self.senders):
            _, client = await loop.create_connection(Sender, self.host, self.port, ssl=self.tls)
            self.clients.append(client)
        self._task = asyncio.create_task(self._run())
        return self

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        period = 1.0 / self.rate
        times = TimeStrings()
        start = loop.time()
        tick = 0
        while True:
            for offset, client in enumerate(self.clients):
                sender = self.first_sender + offset
                if client.lost or client.transport is None or client.transport.is_closing():
                    continue
                seq = self.next_seq.get(sender, 0)
                now, stale = times.get(loop.time())
                sent_us = time.monotonic_ns() // 1000
                client.transport.write(pli(sender, seq, sent_us, now, stale))
                self.sent[(sender, seq)] = time.monotonic()
                self.next_seq[sender] = seq + 1
            tick += 1
            await asyncio.sleep(max(0.0, start + tick * period - loop.time()))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for client in self.clients:
            client.close()

    def uids(self) -> list[str]:
        return [sender_uid(self.first_sender + i) for i in range(self.senders)]


async def recorder(host: str, port: int, tls: ssl.SSLContext | None = None) -> Recorder:
    _, client = await asyncio.get_running_loop().create_connection(Recorder, host, port, ssl=tls)
    return client


def stored_seqs(db: Path) -> list[Seq]:
    """Every benchmark event in a SQLite history, duplicates included (read-only)."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10) as conn:
        rows = conn.execute("SELECT xml FROM events").fetchall()
    return [key for (xml,) in rows for key in seqs_in(bytes(xml))]


def duplicates(keys: Iterable[Seq]) -> int:
    keys = list(keys)
    return len(keys) - len(set(keys))


def metrics(address: tuple[str, int]) -> dict[str, float]:
    """The server's Prometheus samples from its loopback metrics listener."""
    host, port = address
    with urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=10) as resp:
        text = resp.read().decode()
    samples: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]

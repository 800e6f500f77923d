"""The load generator: N senders and M receivers over loopback, in one asyncio loop.

Every client reads all it is sent into one SO_RCVBUF-sized buffer (``BufferedProtocol``,
no per-read allocation), cuts at the last ``</event>`` and either counts the benchmark
events in it (``bytearray.count``, for saturation) or reads each one's sender, sequence
number and send time with one regex (for loss and latency at medium load). Senders
are clients too: they drain their sockets and their deliveries are counted apart.

The generator is meant to run alone on its core; see bench.run for the pinning.
"""

from __future__ import annotations

import asyncio
import resource
import socket
import ssl
import time
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import cast

from bench.events import BENCH_RE, EVENT_END, TimeStrings, pli, takp_request

BENCH_MARK = b"<__bench "
TAKP_RESPONSE = b"t-x-takp-r"  # the server's answer; protobuf follows it
CONNECT_BATCH = 100  # stays under a default listen backlog of 100
FLAT_OUT_BATCH = 16  # events per write when a sender runs flat out


def raise_nofile() -> int:
    """Lift the soft open-files limit to the hard one; returns the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def percentile(sorted_values: Sequence[float] | array[int], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return float(sorted_values[index])


class Client(asyncio.BufferedProtocol):
    """A TAK client that reads everything and, if given a sender index, sends PLIs."""

    def __init__(
        self, n_senders: int, parse: bool, sender: int | None = None, proto: bool = False
    ) -> None:
        self.n_senders = n_senders
        self.parse = parse
        self.sender = sender
        # TAK protocol v1: ask for it at once, read XML until the server's answer, then
        # 0xBF-framed protobuf (the bench element travels in xmlDetail, same regex).
        self.proto = proto
        self.in_proto = False
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray(1 << 18)
        self.fill = 0
        self.deliveries = 0  # benchmark events received (not unique in count mode)
        self.unique = 0
        self.gaps = 0
        self.reordered = 0
        self.last_seq = [-1] * n_senders if parse else []
        self.latency_us: array[int] = array("q")
        self.bytes_in = 0
        self.sent = 0
        self.lost_early = False
        self.closing = False
        self.paused = False
        self.on_resume: Callable[[Client], None] | None = None

    # -- reading ---------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it
        self.transport = cast(asyncio.Transport, transport)
        sock: socket.socket | None = self.transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            rcvbuf = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
            self.buf = bytearray(max(rcvbuf, 1 << 16))
        self.transport.set_write_buffer_limits(high=1 << 18)
        if self.proto:
            self.transport.write(takp_request(*TimeStrings().get(time.monotonic())))

    def get_buffer(self, sizehint: int) -> memoryview:
        if len(self.buf) - self.fill < 4096:  # an event larger than the buffer: grow
            grown = bytearray(len(self.buf) * 2)
            grown[: self.fill] = self.buf[: self.fill]
            self.buf = grown
        return memoryview(self.buf)[self.fill :]

    def buffer_updated(self, nbytes: int) -> None:
        buf = self.buf
        fill = self.fill + nbytes
        self.bytes_in += nbytes
        if self.in_proto:
            end = proto_end(buf, 0, fill)
        else:
            end = buf.rfind(EVENT_END, 0, fill)
            if end < 0:
                self.fill = fill
                return
            end += len(EVENT_END)
            if self.proto and buf.find(TAKP_RESPONSE, 0, end) >= 0:
                self.in_proto = True  # what follows the answer is protobuf
                end = proto_end(buf, end, fill)
        if self.parse:
            self._account(buf, end)
        else:
            self.deliveries += buf.count(BENCH_MARK, 0, end)
        rest = fill - end
        if rest:
            buf[0:rest] = buf[end:fill]
        self.fill = rest

    def _account(self, buf: bytearray, end: int) -> None:
        now_us = time.monotonic_ns() // 1000
        last = self.last_seq
        latency = self.latency_us
        for match in BENCH_RE.finditer(buf, 0, end):
            sender, seq = int(match[1]), int(match[2])
            self.deliveries += 1
            latency.append(now_us - int(match[3]))
            previous = last[sender]
            if seq > previous:
                self.unique += 1
                self.gaps += seq - previous - 1
                last[sender] = seq
            else:
                self.reordered += 1  # a duplicate or a late arrival; not a new delivery

    def eof_received(self) -> bool:
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closing:
            self.lost_early = True
        self.transport = None

    # -- writing ---------------------------------------------------------------
    def pause_writing(self) -> None:
        self.paused = True

    def resume_writing(self) -> None:
        self.paused = False
        if self.on_resume is not None:
            self.on_resume(self)

    def write(self, data: bytes, count: int) -> bool:
        if self.transport is None or self.transport.is_closing():
            return False
        self.transport.write(data)
        self.sent += count
        return True

    def close(self) -> None:
        self.closing = True
        if self.transport is not None:
            self.transport.close()


def proto_end(buf: bytearray, pos: int, fill: int) -> int:
    """Where the last complete ``0xBF`` varint-length frame from ``pos`` ends."""
    while pos < fill and buf[pos] == 0xBF:
        length = shift = 0
        p = pos + 1
        while True:
            if p >= fill:
                return pos
            byte = buf[p]
            length |= (byte & 0x7F) << shift
            p += 1
            if byte < 0x80:
                break
            shift += 7
        if p + length > fill:
            return pos
        pos = p + length
    return pos


class IdleClient(asyncio.Protocol):
    """Connects and reads whatever the server says; never sends."""

    def __init__(self) -> None:
        self.transport: asyncio.BaseTransport | None = None
        self.lost_early = False
        self.closing = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        pass

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closing:
            self.lost_early = True

    def close(self) -> None:
        self.closing = True
        if self.transport is not None:
            self.transport.close()


@dataclass(frozen=True)
class LoadSpec:
    senders: int
    receivers: int
    rate_per_sender: float | None  # events/s; None = flat out
    duration_s: float  # sending time (medium) or measured window (flat out)
    warmup_s: float = 0.0  # flat out: sending time before the window opens
    parse: bool = True  # per-sender loss and latency accounting
    marking: str = ""
    proto_receivers: int = 0  # receivers that negotiate TAK protocol v1 (protobuf)
    drain_quiet_s: float = 1.0
    drain_max_s: float = 10.0


@dataclass
class LoadResult:
    spec: LoadSpec
    connect_failures: int = 0
    disconnected_early: int = 0
    sent: int = 0
    window_s: float = 0.0
    receiver_deliveries: int = 0
    sender_deliveries: int = 0
    expected: int = 0  # parse mode: what every client should have had
    unique: int = 0
    missing: int = 0
    gaps: int = 0
    reordered: int = 0
    latency_ms: dict[str, float] = field(default_factory=dict)
    loadgen_cpu: float = 0.0  # share of one core used by this process during the window

    def as_dict(self) -> dict[str, object]:
        window = self.window_s or float("nan")
        return {
            "senders": self.spec.senders,
            "receivers": self.spec.receivers,
            "rate_per_sender": self.spec.rate_per_sender,
            "window_s": round(self.window_s, 3),
            "events_sent": self.sent,
            "receiver_deliveries": self.receiver_deliveries,
            "receiver_deliveries_per_s": round(self.receiver_deliveries / window, 1),
            "sender_deliveries": self.sender_deliveries,
            "all_deliveries_per_s": round(
                (self.receiver_deliveries + self.sender_deliveries) / window, 1
            ),
            "expected": self.expected,
            "unique": self.unique,
            "missing": self.missing,
            "gaps": self.gaps,
            "reordered": self.reordered,
            "latency_ms": self.latency_ms,
            "connect_failures": self.connect_failures,
            "disconnected_early": self.disconnected_early,
            "loadgen_cpu": round(self.loadgen_cpu, 3),
        }


async def connect_all(
    host: str,
    port: int,
    factories: Sequence[Callable[[], asyncio.BaseProtocol]],
    batch: int = CONNECT_BATCH,
    tls: ssl.SSLContext | None = None,
) -> tuple[list[asyncio.BaseProtocol], int]:
    """Connect in batches so the listen backlog never overflows; returns (clients, failures)."""
    loop = asyncio.get_running_loop()
    clients: list[asyncio.BaseProtocol] = []
    failures = 0
    for start in range(0, len(factories), batch):
        chunk = factories[start : start + batch]
        results = await asyncio.gather(
            *(loop.create_connection(f, host, port, ssl=tls) for f in chunk),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, BaseException):
                failures += 1
            else:
                clients.append(result[1])
    return clients, failures


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def run_load(
    host: str, port: int, spec: LoadSpec, tls: ssl.SSLContext | None = None
) -> LoadResult:
    """Connect, send for the spec's time, drain, and account for every event."""
    loop = asyncio.get_running_loop()
    raise_nofile()
    result = LoadResult(spec)
    n = spec.senders

    def make(sender: int | None, proto: bool = False) -> Callable[[], Client]:
        return lambda: Client(n, spec.parse, sender, proto)

    factories = [make(None, r < spec.proto_receivers) for r in range(spec.receivers)]
    factories += [make(i) for i in range(n)]
    connected, result.connect_failures = await connect_all(host, port, factories, tls=tls)
    clients = [c for c in connected if isinstance(c, Client)]
    receivers = [c for c in clients if c.sender is None]
    senders = [c for c in clients if c.sender is not None]
    try:
        await asyncio.sleep(1.0)  # negotiation offers and catch-up settle before counting
        for c in clients:
            c.deliveries = c.unique = c.gaps = c.reordered = 0
            del c.latency_us[:]
        times = TimeStrings()
        stop = False

        if spec.rate_per_sender is None:
            scheduled: set[Client] = set()  # one pending pump per sender, never two

            def schedule(c: Client) -> None:
                if c not in scheduled:
                    scheduled.add(c)
                    loop.call_soon(pump, c)

            def pump(c: Client) -> None:
                scheduled.discard(c)
                if stop or c.paused or c.transport is None:
                    return  # resume_writing schedules the next pump
                now, stale = times.get(loop.time())
                sent_us = time.monotonic_ns() // 1000
                base = c.sent
                assert c.sender is not None
                batch = b"".join(
                    pli(c.sender, base + k, sent_us, now, stale, spec.marking)
                    for k in range(FLAT_OUT_BATCH)
                )
                if c.write(batch, FLAT_OUT_BATCH):
                    schedule(c)

            for c in senders:
                c.on_resume = schedule
                schedule(c)
            await asyncio.sleep(spec.warmup_s)
            r0 = sum(c.deliveries for c in receivers)
            s0 = sum(c.deliveries for c in senders)
            sent0 = sum(c.sent for c in senders)
            cpu0, t0 = _cpu_s(), loop.time()
            await asyncio.sleep(spec.duration_s)
            result.window_s = loop.time() - t0
            result.loadgen_cpu = (_cpu_s() - cpu0) / result.window_s
            result.receiver_deliveries = sum(c.deliveries for c in receivers) - r0
            result.sender_deliveries = sum(c.deliveries for c in senders) - s0
            result.sent = sum(c.sent for c in senders) - sent0
            stop = True
        else:
            period = 1.0 / spec.rate_per_sender
            quota = round(spec.duration_s * spec.rate_per_sender)
            start = loop.time() + 0.05

            def tick(c: Client, k: int) -> None:
                if stop or k >= quota:
                    return
                now, stale = times.get(loop.time())
                assert c.sender is not None
                c.write(pli(c.sender, k, time.monotonic_ns() // 1000, now, stale, spec.marking), 1)
                loop.call_at(start + (k + 1) * period + c.sender * period / n, tick, c, k + 1)

            cpu0 = _cpu_s()
            for c in senders:
                assert c.sender is not None
                loop.call_at(start + c.sender * period / n, tick, c, 0)
            await asyncio.sleep(spec.duration_s + 0.05)
            await _drain(clients, spec.drain_quiet_s, spec.drain_max_s)
            result.window_s = spec.duration_s
            result.loadgen_cpu = (_cpu_s() - cpu0) / (loop.time() - start)
            result.receiver_deliveries = sum(c.deliveries for c in receivers)
            result.sender_deliveries = sum(c.deliveries for c in senders)
            result.sent = sum(c.sent for c in senders)
        if spec.parse:
            _account_loss(result, receivers, senders)
        result.disconnected_early = sum(1 for c in clients if c.lost_early)
    finally:
        stop = True
        for c in clients:
            c.close()
        await asyncio.sleep(0.2)
    return result


async def _drain(clients: list[Client], quiet_s: float, max_s: float) -> None:
    """Wait until nothing has arrived anywhere for ``quiet_s`` (at most ``max_s``)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + max_s
    last = -1
    quiet_since = loop.time()
    while loop.time() < deadline:
        total = sum(c.bytes_in for c in clients)
        if total != last:
            last, quiet_since = total, loop.time()
        elif loop.time() - quiet_since >= quiet_s:
            return
        await asyncio.sleep(0.05)


def _account_loss(result: LoadResult, receivers: list[Client], senders: list[Client]) -> None:
    sent_by = {c.sender: c.sent for c in senders}
    total = sum(sent_by.values())
    expected = total * len(receivers) + sum(total - s for s in sent_by.values())
    unique = sum(c.unique for c in receivers) + sum(c.unique for c in senders)
    result.expected = expected
    result.unique = unique
    result.missing = expected - unique
    result.gaps = sum(c.gaps for c in receivers) + sum(c.gaps for c in senders)
    result.reordered = sum(c.reordered for c in receivers) + sum(c.reordered for c in senders)
    latencies = sorted(v for c in (*receivers, *senders) for v in c.latency_us)
    if latencies:
        result.latency_ms = {
            "p50": round(percentile(latencies, 0.50) / 1000, 3),
            "p90": round(percentile(latencies, 0.90) / 1000, 3),
            "p99": round(percentile(latencies, 0.99) / 1000, 3),
            "p999": round(percentile(latencies, 0.999) / 1000, 3),
            "max": round(latencies[-1] / 1000, 3),
            "samples": len(latencies),
        }


async def hold_idle(
    host: str, port: int, count: int, tls: ssl.SSLContext | None = None
) -> tuple[list[IdleClient], int]:
    """Open ``count`` idle connections; the caller closes them."""
    raise_nofile()
    connected, failures = await connect_all(host, port, [IdleClient] * count, tls=tls)
    return [c for c in connected if isinstance(c, IdleClient)], failures

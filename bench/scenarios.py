"""The scenarios: each starts a fresh server, drives it for a bounded time and stops it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from bench.loadgen import LoadSpec, hold_idle, run_load
from bench.target import Target, metric_sum, self_cpu_s, system_busy_s

Starter = Callable[[Path], Awaitable[Target]]
COALESCED = "alliedc2_queue_coalesced_total"
BACKLOG = "alliedc2_history_backlog"


@dataclass(frozen=True)
class Scale:
    """Sizes and times; ``Scale()`` is the issue's figures, smaller ones are for smoke runs."""

    medium_senders: int = 50
    medium_receivers: int = 50
    medium_rate: float = 10.0
    medium_s: float = 15.0
    saturation_senders: int = 20
    saturation_receivers: int = 100
    saturation_warmup_s: float = 3.0
    saturation_s: float = 10.0
    idle_clients: int = 10_000
    marking: str = ""


class RssSampler:
    """Samples the server's VmRSS every ``period`` seconds while a load runs, and its
    history backlog (``alliedc2_history_backlog``, where it has metrics) every second."""

    def __init__(self, target: Target, period: float = 0.2) -> None:
        self.target = target
        self.period = period
        self.peak_kb = 0
        self.backlog_peak: float | None = None
        self._task: asyncio.Task[None] | None = None
        self._backlog_task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            self.peak_kb = max(self.peak_kb, self.target.status_kb("VmRSS"))
            await asyncio.sleep(self.period)

    async def _backlog(self) -> None:
        while True:
            sample = await self.target.metrics(limit_s=2.0)
            if BACKLOG in sample:
                self.backlog_peak = max(self.backlog_peak or 0.0, sample[BACKLOG])
            await asyncio.sleep(1.0)

    def __enter__(self) -> RssSampler:
        loop = asyncio.get_running_loop()
        self._task = loop.create_task(self._run())
        if self.target.metrics_addr is not None:
            self._backlog_task = loop.create_task(self._backlog())
        return self

    def __exit__(self, *exc: object) -> None:
        self.peak_kb = max(self.peak_kb, self.target.status_kb("VmRSS"))
        for task in (self._task, self._backlog_task):
            if task is not None:
                task.cancel()


def counter_deltas(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """Changes of every ``*_total`` counter sample (labels kept) between two scrapes."""
    deltas: dict[str, float] = {}
    for key, value in after.items():
        family = key.split("{", 1)[0]
        if family.endswith("_total"):
            change = value - before.get(key, 0.0)
            if change:
                deltas[key] = change
    return deltas


async def _with_target(
    start: Starter, data_dir: Path, body: Callable[[Target], Awaitable[dict[str, object]]]
) -> dict[str, object]:
    target = await start(data_dir)
    try:
        result = await body(target)
        result["target"] = target.name
        result["server_alive_after"] = target.alive()
        return result
    finally:
        await asyncio.to_thread(target.stop)


def _bottleneck(server_cpu: float, loadgen_cpu: float) -> str:
    """Which side ran out of its core; at saturation this says what the figure measures."""
    if server_cpu >= 0.9:
        return "server"
    if loadgen_cpu >= 0.9:
        return "load generator"
    return "neither (paced load, flow control or CPU contention)"


async def _measured_load(target: Target, spec: LoadSpec) -> dict[str, object]:
    loop = asyncio.get_running_loop()
    await asyncio.sleep(1.0)  # startup work (migrations, first GC) is not load
    before = await target.metrics()
    cpu0, own0, busy0, t0 = target.cpu_s(), self_cpu_s(), system_busy_s(), loop.time()
    with RssSampler(target) as rss:
        load = await run_load(*target.cot, spec, tls=target.client_tls)
    elapsed = loop.time() - t0
    server_cpu = (target.cpu_s() - cpu0) / elapsed
    own_cpu = (self_cpu_s() - own0) / elapsed
    # Whatever else ran on the machine meanwhile: figures taken on a busy machine
    # are flagged rather than silently compared.
    background = (system_busy_s() - busy0) / elapsed - server_cpu - own_cpu
    hwm = target.status_kb("VmHWM")
    after = await target.metrics()
    deltas = counter_deltas(before, after)
    result = load.as_dict()
    if target.http is not None and not (before and after):
        result["metrics_unavailable"] = "GET /metrics did not answer within 30 s"
    coalesced = int(metric_sum(deltas, COALESCED))
    result.update(
        server_rss_peak_mb=round(rss.peak_kb / 1024, 1),
        server_rss_hwm_mb=round(hwm / 1024, 1),
        server_cpu=round(server_cpu, 3),
        background_cpu=round(max(0.0, background), 3),
        bottleneck=_bottleneck(server_cpu, load.loadgen_cpu),
        coalesced=coalesced,
        history_backlog_peak=rss.backlog_peak,
        server_counters=deltas,
    )
    if spec.parse:
        # Coalescing queued position updates for a reader that fell behind is the
        # server's documented policy, not loss; what it does not account for is.
        lost = max(0, load.missing - coalesced)
        result["lost"] = lost
        result["loss_ratio"] = round(lost / load.expected, 6) if load.expected else None
    return result


async def medium(
    start: Starter, data_dir: Path, scale: Scale, proto_receivers: int = 0
) -> dict[str, object]:
    spec = LoadSpec(
        senders=scale.medium_senders,
        receivers=scale.medium_receivers,
        rate_per_sender=scale.medium_rate,
        duration_s=scale.medium_s,
        parse=True,
        marking=scale.marking,
        proto_receivers=proto_receivers,
    )
    offered = scale.medium_senders * scale.medium_rate * scale.medium_receivers

    async def body(target: Target) -> dict[str, object]:
        result = await _measured_load(target, spec)
        result["offered_deliveries_per_s"] = offered
        result["proto_receivers"] = proto_receivers
        return result

    return await _with_target(start, data_dir, body)


async def medium_proto(start: Starter, data_dir: Path, scale: Scale) -> dict[str, object]:
    """Medium load with half the receivers on TAK protocol v1 (negotiated, protobuf)."""
    return await medium(start, data_dir, scale, proto_receivers=scale.medium_receivers // 2)


async def saturation(start: Starter, data_dir: Path, scale: Scale) -> dict[str, object]:
    spec = LoadSpec(
        senders=scale.saturation_senders,
        receivers=scale.saturation_receivers,
        rate_per_sender=None,
        duration_s=scale.saturation_s,
        warmup_s=scale.saturation_warmup_s,
        parse=False,
        marking=scale.marking,
    )
    return await _with_target(start, data_dir, lambda t: _measured_load(t, spec))


async def idle(start: Starter, data_dir: Path, scale: Scale) -> dict[str, object]:
    async def body(target: Target) -> dict[str, object]:
        await asyncio.sleep(2.0)
        base_kb = target.status_kb("VmRSS")
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        clients, failures = await hold_idle(*target.cot, scale.idle_clients, target.client_tls)
        connect_s = loop.time() - t0
        try:
            await asyncio.sleep(3.0)  # let per-connection setup (greeting, buffers) finish
            samples = []
            for _ in range(5):
                samples.append(target.status_kb("VmRSS"))
                await asyncio.sleep(0.2)
            held_kb = max(samples)
            dropped = sum(1 for c in clients if c.lost_early)
        finally:
            for c in clients:
                c.close()
        connected = len(clients) - dropped
        per_conn_kb = (held_kb - base_kb) / connected if connected else float("nan")
        return {
            "clients": scale.idle_clients,
            "connected": connected,
            "connect_failures": failures,
            "dropped_by_server": dropped,
            "connect_s": round(connect_s, 2),
            "server_rss_before_mb": round(base_kb / 1024, 1),
            "server_rss_held_mb": round(held_kb / 1024, 1),
            "rss_per_connection_kb": round(per_conn_kb, 2),
        }

    return await _with_target(start, data_dir, body)

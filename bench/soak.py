"""`make soak`: an hour of medium load over TLS, with reconnects, WebSocket viewers and polling.

    .venv/bin/python -m bench.soak --out var/soak                 # the hour
    .venv/bin/python -m bench.soak --out /tmp/s --duration 120 --warmup 30 --bounds short

50 senders × 10 events/s → 50 receivers over mutual TLS (bench/tls.py), 10 % of those
clients reconnecting every minute, WebSocket viewers on /api/v1/stream and a poller on
the HTTP API. Every ``--interval`` seconds it samples the server's RSS, open file
descriptors, deliveries/s, latency p99 and history backlog; at the end it judges the
run (bench/soakreport.py), writes OUT/soak.json and OUT/soak.png, and exits 1 if a
check failed. See docs/reliability.md.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import contextlib
import json
import os
import random
import signal
import sys
import time
from pathlib import Path
from typing import Any

import uvloop

from bench.events import TimeStrings, pli
from bench.loadgen import percentile, raise_nofile
from bench.soakclients import SoakClient, Totals
from bench.soakreport import BOUNDS, judge, plot
from bench.target import (
    LOADGEN_CORE,
    Target,
    metric_sum,
    self_cpu_s,
    start_alliedc2_tls,
    stop_all,
    system_busy_s,
    two_cores,
)
from bench.tls import create_token


def fd_count(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return -1


def _own_autogroup(nice: int) -> None:
    """Compete as a scheduling group of its own at ``nice`` (CONFIG_SCHED_AUTOGROUP).

    With autogroups a niceness counts only inside the session's group, so a
    generator that shares a shell's session shares its CPU with everything started
    there; a session of its own, reniced, gets its share (root only).
    """
    with contextlib.suppress(OSError):
        os.setsid()
    with contextlib.suppress(OSError), open("/proc/self/autogroup", "w") as group:
        group.write(str(nice))


class Soak:
    def __init__(self, target: Target, args: argparse.Namespace, token: str) -> None:
        self.target = target
        self.args = args
        self.token = token
        self.totals = Totals()
        self.loop = asyncio.get_running_loop()
        self.senders: list[SoakClient | None] = [None] * args.senders
        self.receivers: list[SoakClient | None] = [None] * args.receivers
        self.seq = [0] * args.senders
        self.reconnects = 0
        self.reconnect_failures = 0
        self.ws_messages = 0
        self.ws_errors = 0
        self.api_requests = 0
        self.api_errors = 0
        self.api_latency_ms: list[float] = []
        self.stopping = False
        self.samples: list[dict[str, Any]] = []

    async def connect(self, sender: int | None) -> SoakClient | None:
        host, port = self.target.cot
        try:
            _, client = await self.loop.create_connection(
                lambda: SoakClient(self.totals, sender), host, port, ssl=self.target.client_tls
            )
        except OSError:
            self.reconnect_failures += 1
            return None
        return client

    async def connect_all(self) -> None:
        for start in range(0, self.args.receivers, 50):
            batch = range(start, min(start + 50, self.args.receivers))
            made = await asyncio.gather(*(self.connect(None) for _ in batch))
            for i, client in zip(batch, made, strict=True):
                self.receivers[i] = client
        made = await asyncio.gather(*(self.connect(s) for s in range(self.args.senders)))
        self.senders = list(made)

    # -- load -------------------------------------------------------------------------

    def start_senders(self) -> None:
        period = 1.0 / self.args.rate
        n = self.args.senders
        start = self.loop.time() + 0.05
        times = TimeStrings()

        def tick(sender: int, k: int) -> None:
            if self.stopping:
                return
            client = self.senders[sender]
            if client is not None and client.transport is not None:
                now, stale = times.get(self.loop.time())
                sent_us = time.monotonic_ns() // 1000
                if client.write(pli(sender, self.seq[sender], sent_us, now, stale)):
                    self.seq[sender] += 1  # numbers only what was written: no false holes
                    self.totals.sent += 1
            self.loop.call_at(start + (k + 1) * period + sender * period / n, tick, sender, k + 1)

        for sender in range(n):
            self.loop.call_at(start + sender * period / n, tick, sender, 0)

    async def reconnect_some(self) -> None:
        """Every minute, the next 10 % of the clients drop their connection and reconnect."""
        slots = [("r", i) for i in range(self.args.receivers)]
        slots += [("s", i) for i in range(self.args.senders)]
        random.Random(14).shuffle(slots)
        per_round = max(1, round(len(slots) * self.args.reconnect_share))
        turn = 0
        while not self.stopping:
            await asyncio.sleep(self.args.reconnect_every)
            if self.stopping:
                return
            chosen = [slots[(turn + k) % len(slots)] for k in range(per_round)]
            turn += per_round
            await asyncio.gather(*(self._reconnect(kind, i) for kind, i in chosen))

    async def _reconnect(self, kind: str, index: int) -> None:
        table = self.receivers if kind == "r" else self.senders
        old = table[index]
        table[index] = None  # a sender skips its ticks meanwhile
        if old is not None:
            await old.close()
            old.settle_accounts()
        table[index] = await self.connect(None if kind == "r" else index)
        self.reconnects += 1

    async def websocket_viewer(self) -> None:
        from websockets.asyncio.client import connect

        host, port = self.target.http or ("127.0.0.1", 0)
        headers = {"Authorization": f"Bearer {self.token}"}
        while not self.stopping:
            try:
                async with connect(
                    f"ws://{host}:{port}/api/v1/stream", additional_headers=headers
                ) as ws:
                    async for _ in ws:
                        self.ws_messages += 1
                        if self.stopping:
                            return
            except Exception:
                if self.stopping:
                    return
                self.ws_errors += 1
                await asyncio.sleep(1.0)

    async def api_poller(self) -> None:
        import httpx

        host, port = self.target.http or ("127.0.0.1", 0)
        headers = {"Authorization": f"Bearer {self.token}"}
        paths = ("/api/v1/picture", "/api/v1/events?limit=100", "/api/v1/health")
        async with httpx.AsyncClient(base_url=f"http://{host}:{port}", timeout=10.0) as http:
            while not self.stopping:
                for path in paths:
                    t0 = time.perf_counter()
                    try:
                        response = await http.get(path, headers=headers)
                        ok = response.status_code == 200
                    except httpx.HTTPError:
                        ok = False
                    self.api_requests += 1
                    self.api_errors += not ok
                    self.api_latency_ms.append((time.perf_counter() - t0) * 1000)
                await asyncio.sleep(self.args.poll_every)

    # -- sampling ---------------------------------------------------------------------

    async def sample_forever(self, t0: float) -> None:
        last_t, last_r = self.loop.time(), self.totals.receiver_deliveries
        last_cpu, last_busy, last_own = self.target.cpu_s(), system_busy_s(), self_cpu_s()
        while not self.stopping:
            await asyncio.sleep(self.args.interval)
            if self.stopping:
                return  # the load has stopped: that interval is not a sample
            now = self.loop.time()
            elapsed = now - last_t
            latencies = sorted(self.totals.latency_us)
            del self.totals.latency_us[:]
            metrics = await self.target.metrics(limit_s=5.0)
            cpu, busy, own = self.target.cpu_s(), system_busy_s(), self_cpu_s()
            server_cpu = (cpu - last_cpu) / elapsed
            own_cpu = (own - last_own) / elapsed
            row = {
                "t_s": round(now - t0, 1),
                "rss_mb": round(self.target.status_kb("VmRSS") / 1024, 2),
                "fds": fd_count(self.target.pid),
                "deliveries_per_s": round((self.totals.receiver_deliveries - last_r) / elapsed, 1),
                "p50_ms": round(percentile(latencies, 0.5) / 1000, 3) if latencies else None,
                "p99_ms": round(percentile(latencies, 0.99) / 1000, 3) if latencies else None,
                "history_backlog": metrics.get("alliedc2_history_backlog"),
                "connections": metrics.get("alliedc2_connections"),
                "server_cpu": round(server_cpu, 3),
                "loadgen_cpu": round(own_cpu, 3),
                # What else ran meanwhile: a busy machine explains a bad interval.
                "background_cpu": round(
                    max(0.0, (busy - last_busy) / elapsed - server_cpu - own_cpu), 3
                ),
                "reconnects": self.reconnects,
            }
            self.samples.append(row)
            last_t, last_r = now, self.totals.receiver_deliveries
            last_cpu, last_busy, last_own = cpu, busy, own
            if self.args.verbose:
                print(json.dumps(row), flush=True)

    async def run(self) -> dict[str, Any]:
        await self.connect_all()
        await asyncio.sleep(1.0)
        before = await self.target.metrics()
        t0 = self.loop.time()
        self.start_senders()
        tasks = [
            asyncio.create_task(self.reconnect_some()),
            asyncio.create_task(self.api_poller()),
            asyncio.create_task(self.sample_forever(t0)),
            *(asyncio.create_task(self.websocket_viewer()) for _ in range(self.args.viewers)),
        ]
        try:
            await asyncio.sleep(self.args.duration)
        finally:
            self.stopping = True
            await asyncio.sleep(3.0)  # let the last events arrive
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        after = await self.target.metrics()
        clients = [c for c in (*self.senders, *self.receivers) if c is not None]
        for client in clients:
            client.settle_accounts()
        await asyncio.gather(*(c.close() for c in clients))
        return self.summary(before, after)

    def summary(self, before: dict[str, float], after: dict[str, float]) -> dict[str, Any]:
        totals = self.totals
        coalesced = metric_sum(after, "alliedc2_queue_coalesced_total") - metric_sum(
            before, "alliedc2_queue_coalesced_total"
        )
        superseded = "alliedc2_disconnects_total"
        api = sorted(self.api_latency_ms)
        return {
            "duration_s": self.args.duration,
            "warmup_s": self.args.warmup,
            "senders": self.args.senders,
            "receivers": self.args.receivers,
            "rate_per_sender": self.args.rate,
            "offered_deliveries_per_s": self.args.senders * self.args.rate * self.args.receivers,
            "events_sent": totals.sent,
            "receiver_deliveries": totals.receiver_deliveries,
            "sender_deliveries": totals.sender_deliveries,
            "expected": totals.expected,
            "holes": totals.holes,
            "duplicates": totals.duplicates,
            "coalesced": int(coalesced),
            "lost": max(0, totals.holes - int(coalesced)),
            "disconnected_by_server": totals.lost_early,
            "reconnects": self.reconnects,
            "reconnect_failures": self.reconnect_failures,
            "server_disconnects": {
                k[len(superseded) :]: v for k, v in after.items() if k.startswith(superseded + "{")
            },
            "ws_viewers": self.args.viewers,
            "ws_messages": self.ws_messages,
            "ws_errors": self.ws_errors,
            "api_requests": self.api_requests,
            "api_errors": self.api_errors,
            "api_p99_ms": round(percentile(api, 0.99), 2) if api else None,
            "history_written": after.get("alliedc2_history_written_total"),
            "samples": self.samples,
        }


async def main(args: argparse.Namespace) -> int:
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, task.cancel)
    out: Path = args.out
    await asyncio.to_thread(out.mkdir, parents=True, exist_ok=True)
    raise_nofile()
    if args.nice:
        # The server inherits it: on a machine other work shares, the soak measures the
        # server rather than the contention (as bench.run --nice does).
        os.setpriority(os.PRIO_PROCESS, 0, args.nice)
        _own_autogroup(args.nice)
    pinned = two_cores() and not args.no_pin
    if pinned:
        os.sched_setaffinity(0, {LOADGEN_CORE})
    data_dir = out / "server"
    target = await start_alliedc2_tls(data_dir, pinned)
    try:
        token = await asyncio.to_thread(create_token, data_dir)
        result = await Soak(target, args, token).run()
        result["server_alive_after"] = target.alive()
    finally:
        await asyncio.to_thread(target.stop)
    result["pinned"] = pinned
    result["nice"] = args.nice
    result["bounds"] = args.bounds
    result["checks"] = judge(result, BOUNDS[args.bounds])
    await asyncio.to_thread((out / "soak.json").write_text, json.dumps(result, indent=2) + "\n")
    await asyncio.to_thread(plot, result, out / "soak.png")
    failed = [c for c in result["checks"] if not c["pass"]]
    for check in result["checks"]:
        print(f"{'pass' if check['pass'] else 'FAIL'}  {check['what']}: {check['measured']}")
    print(f"soak: {out / 'soak.json'}, {out / 'soak.png'}")
    return 1 if failed else 0


def cli(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("var/soak"))
    parser.add_argument("--duration", type=float, default=3600.0, help="seconds of load")
    parser.add_argument("--warmup", type=float, default=300.0, help="seconds before baselines")
    parser.add_argument("--interval", type=float, default=10.0, help="seconds per sample")
    parser.add_argument("--senders", type=int, default=50)
    parser.add_argument("--receivers", type=int, default=50)
    parser.add_argument("--rate", type=float, default=10.0, help="events/s per sender")
    parser.add_argument("--reconnect-every", type=float, default=60.0)
    parser.add_argument("--reconnect-share", type=float, default=0.10)
    parser.add_argument("--viewers", type=int, default=3, help="WebSocket viewers")
    parser.add_argument("--poll-every", type=float, default=2.0, help="API polling period")
    parser.add_argument("--bounds", choices=sorted(BOUNDS), default="hour")
    parser.add_argument("--no-pin", action="store_true")
    parser.add_argument(
        "--nice", type=int, default=0, help="niceness for server and generator (root: -10)"
    )
    parser.add_argument("--verbose", action="store_true", help="print every sample")
    args = parser.parse_args(argv)
    atexit.register(stop_all)
    try:
        return uvloop.run(main(args))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("interrupted; server stopped", file=sys.stderr)
        return 130
    finally:
        stop_all()


if __name__ == "__main__":
    sys.exit(cli())

"""Issue 13's cluster row: server CPU per delivery on one node against two, and latency.

Three runs at the same offered load (``SENDERS`` senders at ``RATE`` events/s on
plain TCP, ``RECEIVERS`` receivers; every receiver gets every event):

* ``standalone``: one ``serve`` process, no cluster (SQLite): today's default;
* ``one_node``: the same process as a cluster of one (NATS JetStream, PostgreSQL);
* ``two_nodes``: two cluster nodes, senders and receivers split between them.

Server CPU is the user + system time of the allied-c2 processes over the measured
window (``/proc/PID/stat``), divided by the deliveries counted at the receivers;
NATS and PostgreSQL CPU (every ``nats-server`` and ``postgres`` process on the
machine, so anything else using them is counted too) are reported beside it.
Latency is from the send (its time is in the uid) to the receipt; on two nodes it
is split into same-node and cross-node deliveries, the latter being the
JetStream path: publish, stream, the other node's consumer, its fan-out.

Needs NATS with JetStream (ALLIED_C2_BENCH_NATS, default nats://127.0.0.1:4222) and
PostgreSQL (ALLIED_C2_BENCH_PG, default postgresql+psycopg://postgres@127.0.0.1:5432/postgres);
skipped, saying why, without them.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from bench.events import LATENCY_UID, latency_pli
from bench.loadgen import percentile
from bench.report import Target
from bench.target import LOADGEN_CORE, ROOT, SERVER_CORE

CLI = [sys.executable, "-m", "allied_c2"]
SENDERS, RATE, RECEIVERS, DURATION_S, WARMUP_S = 20, 10.0, 20, 10.0, 2.0
NATS_URL = os.environ.get("ALLIED_C2_BENCH_NATS", "nats://127.0.0.1:4222")
PG_ADMIN = os.environ.get(
    "ALLIED_C2_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
_TICK = os.sysconf("SC_CLK_TCK")


def _cpu_of(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK


def _cpu_named(name: str) -> float:
    total = 0.0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/comm") as f:
                    if f.read().strip() != name:
                        continue
            except OSError:
                continue
            total += _cpu_of(int(entry))
    return total


class _Receiver:
    def __init__(self, node: int) -> None:
        self.node = node
        self.deliveries = 0
        self.latencies: dict[bool, list[float]] = {True: [], False: []}  # same node?
        self.measuring = False

    async def run(self, reader: asyncio.StreamReader, sender_node: dict[int, int]) -> None:
        buffer = b""
        while chunk := await reader.read(1 << 16):
            at = time.time_ns()
            buffer += chunk
            *events, buffer = buffer.split(b"</event>")
            if not self.measuring:
                continue
            for event in events:
                found = LATENCY_UID.search(event)
                if found is None:
                    continue
                self.deliveries += 1
                same = sender_node.get(int(found.group(1))) == self.node
                self.latencies[same].append((at - int(found.group(2))) / 1e6)


async def _send(writer: asyncio.StreamWriter, sender: int, stop: float) -> None:
    next_at = time.monotonic()
    while time.monotonic() < stop:
        writer.write(latency_pli(f"lat-{sender}-{time.time_ns()}"))
        next_at += 1.0 / RATE
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))


def _start(data: Path, extra: list[str]) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    shutil.rmtree(data, ignore_errors=True)  # a fresh server: no picture from an earlier run
    data.mkdir(parents=True)
    argv = [*CLI, "serve", "--data-dir", str(data), "--cot-tcp", "127.0.0.1:0"]
    argv += ["--cot-tls", "off", "--http", "off", *extra]
    log = (data / "server.log").open("wb")
    # `make bench` pins itself (the load generator) to one core; a server must not
    # inherit that, or every node would share the generator's core. The nodes get the
    # server core, as the single process does, so both runs have the same core budget.
    pinned = os.sched_getaffinity(0) == {LOADGEN_CORE}
    proc = subprocess.Popen(
        argv,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
        preexec_fn=(lambda: os.sched_setaffinity(0, {SERVER_CORE})) if pinned else None,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server in {data} exited {proc.returncode}")
        try:
            return proc, json.loads((data / "endpoints.json").read_text())
        except (OSError, ValueError):
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"server in {data} did not start")


async def _load(
    addresses: list[tuple[str, int]],
    pids: list[int],
    senders_n: int = SENDERS,
    receivers_n: int = RECEIVERS,
) -> dict[str, Any]:
    nodes = len(addresses)
    receivers = [_Receiver(i % nodes) for i in range(receivers_n)]
    sender_node = {s: s % nodes for s in range(senders_n)}
    conns = []
    for receiver in receivers:
        reader, writer = await asyncio.open_connection(*addresses[receiver.node])
        conns.append((writer, asyncio.create_task(receiver.run(reader, sender_node))))
    writers = [(await asyncio.open_connection(*addresses[sender_node[s]]))[1] for s in sender_node]
    stop = time.monotonic() + WARMUP_S + DURATION_S
    senders = [asyncio.create_task(_send(w, s, stop)) for s, w in enumerate(writers)]
    await asyncio.sleep(WARMUP_S)
    for receiver in receivers:
        receiver.measuring = True
    cpu0 = [_cpu_of(pid) for pid in pids]
    nats0, pg0 = _cpu_named("nats-server"), _cpu_named("postgres")
    wall0 = time.monotonic()
    await asyncio.gather(*senders)
    await asyncio.sleep(0.5)  # the last deliveries
    wall = time.monotonic() - wall0
    cpu = sum(_cpu_of(pid) for pid in pids) - sum(cpu0)
    nats_cpu, pg_cpu = _cpu_named("nats-server") - nats0, _cpu_named("postgres") - pg0
    for writer in writers:
        writer.close()
    for writer, task in conns:
        writer.close()
        task.cancel()
    deliveries = sum(r.deliveries for r in receivers)
    result: dict[str, Any] = {
        "offered_deliveries_per_s": senders_n * RATE * receivers_n,
        "deliveries": deliveries,
        "deliveries_per_s": round(deliveries / wall),
        "server_cpu_s": round(cpu, 3),
        "server_cpu_us_per_delivery": round(cpu / max(deliveries, 1) * 1e6, 2),
        "nats_cpu_s": round(nats_cpu, 3),
        "postgres_cpu_s": round(pg_cpu, 3),
    }
    for same, label in ((True, "same_node"), (False, "cross_node")):
        values = sorted(v for r in receivers for v in r.latencies[same])
        if values:
            result[f"{label}_latency_ms"] = {
                "p50": round(percentile(values, 0.50), 2),
                "p99": round(percentile(values, 0.99), 2),
                "count": len(values),
            }
    return result


def _database(name: str, create: bool) -> str:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin_url = make_url(PG_ADMIN)
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            if create:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            else:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        engine.dispose()
    return admin_url.set(database=name).render_as_string(hide_password=False)


async def _jetstream(prefix: str | None) -> str | None:
    """None when NATS with JetStream answers (and the bench stream, if named, is gone)."""
    import nats

    try:
        nc = await asyncio.wait_for(
            nats.connect(
                NATS_URL, connect_timeout=2, allow_reconnect=False, max_reconnect_attempts=0
            ),
            5,
        )
    except Exception as exc:
        return f"NATS not reachable at {NATS_URL}: {exc!r}"
    try:
        js = nc.jetstream()
        await js.account_info()
        if prefix is not None:
            await js.delete_stream(f"ALLIED_{prefix.upper()}_EVENTS")
    except Exception as exc:
        return f"NATS at {NATS_URL}: {exc!r}"
    finally:
        await nc.close()
    return None


async def measure(out: Path, senders: int = SENDERS, receivers: int = RECEIVERS) -> dict[str, Any]:
    problem = await _jetstream(None)
    if problem is not None:
        return {"skipped": problem}
    results: dict[str, Any] = {
        "nodes_pinned_to_server_core": os.sched_getaffinity(0) == {LOADGEN_CORE},
        "senders": senders,
        "rate_per_sender": RATE,
        "receivers": receivers,
        "duration_s": DURATION_S,
    }
    for run, nodes in (("standalone", 0), ("one_node", 1), ("two_nodes", 2)):
        # Each run on its own database and stream: nothing restored or replayed from another.
        name = f"allied_c2_bench_{uuid.uuid4().hex[:10]}"
        prefix = f"b{uuid.uuid4().hex[:10]}"
        try:
            database = await asyncio.to_thread(_database, name, True)
        except Exception as exc:
            return {"skipped": f"PostgreSQL not reachable at {PG_ADMIN}: {exc}"}
        cluster = ["--database-url", database, "--cluster", NATS_URL, "--cluster-prefix", prefix]
        node_args = [[*cluster, "--node-id", f"b{i + 1}"] for i in range(nodes)] or [[]]
        procs = []
        try:
            for i, args in enumerate(node_args):
                procs.append(await asyncio.to_thread(_start, out / run / f"n{i + 1}", args))
            addresses = []
            for _, endpoints in procs:
                host, _, port = endpoints["cot_tcp"].rpartition(":")
                addresses.append((host, int(port)))
            pids = [p.pid for p, _ in procs]
            results[run] = await _load(addresses, pids, senders, receivers)
        finally:
            for proc, _ in procs:
                proc.terminate()
            for proc, _ in procs:
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    proc.kill()
            await asyncio.to_thread(_database, name, False)
            await _jetstream(prefix)
    one = results["standalone"]["server_cpu_us_per_delivery"]
    two = results["two_nodes"]["server_cpu_us_per_delivery"]
    results["cpu_per_delivery_two_nodes_vs_standalone"] = round(two / one, 2) if one else None
    single = results["one_node"]["server_cpu_us_per_delivery"]
    results["cpu_per_delivery_two_nodes_vs_one_node"] = round(two / single, 2) if single else None
    return results


def _figure(*path: str) -> Any:
    def get(run: dict[str, Any]) -> Any:
        node: Any = run
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        return node

    return get


MEDIUM = (50, 50)  # 50 senders x 10/s -> 50 receivers: 25,000 deliveries/s, as `medium`
LIGHT = (SENDERS, RECEIVERS)  # 4,000 deliveries/s: where the per-event costs show most


def _rows(scenario: str, load: str, judged: bool) -> tuple[Target, ...]:
    return (
        Target(
            f"{scenario}_cpu_ratio",
            f"cluster ({load}): server CPU per delivery, 2 nodes / 1 node",
            "≤ 1.3" if judged else "",
            scenario,
            _figure("cpu_per_delivery_two_nodes_vs_one_node"),
            (lambda v, r: v <= 1.3) if judged else None,
        ),
        Target(
            f"{scenario}_cpu_ratio_standalone",
            f"cluster ({load}): server CPU per delivery, 2 nodes / single process",
            "",
            scenario,
            _figure("cpu_per_delivery_two_nodes_vs_standalone"),
            None,
        ),
        Target(
            f"{scenario}_cross_node_p99_ms",
            f"cluster ({load}): client → client on another node p99 (ms)",
            "≤ 5" if judged else "",
            scenario,
            _figure("two_nodes", "cross_node_latency_ms", "p99"),
            (lambda v, r: v <= 5.0) if judged else None,
        ),
        Target(
            f"{scenario}_same_node_p99_ms",
            f"cluster ({load}): client → client on the same node p99 (ms), 2 nodes",
            "",
            scenario,
            _figure("two_nodes", "same_node_latency_ms", "p99"),
            None,
        ),
        Target(
            f"{scenario}_single_p99_ms",
            f"cluster ({load}): client → client p99 (ms), single process (the reference)",
            "",
            scenario,
            _figure("standalone", "same_node_latency_ms", "p99"),
            None,
        ),
    )


# The rows `make bench` prints (bench/run.py adds them to bench/report.py's targets):
# issue 13 judges them at medium load; the lighter load is shown beside.
TARGETS: tuple[Target, ...] = (
    *_rows("cluster", "medium, 25,000/s", True),
    *_rows("cluster_light", "4,000/s", False),
)


if __name__ == "__main__":
    # python -m bench.cluster [SENDERS RECEIVERS]: the row alone, at another size.
    sizes = [int(a) for a in sys.argv[1:3]] or [SENDERS, RECEIVERS]
    print(json.dumps(asyncio.run(measure(Path("var/bench/cluster"), *sizes)), indent=2))

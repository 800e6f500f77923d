"""Issue 11's federation row: the guard's throughput and the latency across a link.

1. **Guard, in process, one core** (a child process pinned to the load
   generator's core, like groups.py): accepted items offered to one link
   (``Link.offer``: the guard's whole decision and the backlog push; the
   backlog is drained as a stream would), a mix of markings of which some may
   not cross. Without rules, and with a rule that coarsens every item's
   position to 1 km and drops ``remarks`` (each copy is a new event).
   Reported: items/s (best of three) and how many crossed.
2. **End to end, loopback**: two real servers (their own data dirs, CAs and
   federation certificates, set up with the ``allied-c2 federate`` CLI); the
   US server dials the JPN one. Senders on the US server's CoT TCP listener at
   the medium scenario's rate; receivers on the JPN server's. Latency is from
   the send to the receipt at the peer's client (the send time is in the uid);
   reported: p50/p95/p99 (ms), items sent and received.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.child import measure_in_child
from bench.events import LATENCY_UID, latency_pli
from bench.loadgen import percentile
from bench.target import ROOT

ITEMS = 200_000
REPEATS = 3
CLI = [sys.executable, "-m", "allied_c2"]
SENDERS, RATE, DURATION_S, RECEIVERS = 50, 10.0, 15.0, 5
RULES = '[[rules]]\nname = "grid"\ncoarsen_m = 1000\ndrop = ["remarks"]\n'


def _guard(items: int, coarsen: bool) -> dict[str, Any]:
    from allied_c2.cot.addressing import PUBLIC
    from allied_c2.cot.xmlcodec import parse_xml
    from allied_c2.federation.guard import Guard, Offer, PeerView
    from allied_c2.federation.identity import federate_principal
    from allied_c2.federation.link import Link
    from allied_c2.federation.rules import NO_RULES, load_rules
    from allied_c2.security.audience import NO_ORIGIN, Audience
    from allied_c2.security.decision import ReleaseCache
    from allied_c2.security.markings import marking_from_cot
    from allied_c2.security.policy import DEFAULT_POLICY

    now = datetime.now(UTC)
    stamp = now.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    stale = (now + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    # What a busy US server offers: public, REL TO USA JPN, REL TO USA PHL, NOFORN.
    cot_markings = [
        ("UNCLASSIFIED", None, None),
        ("SECRET", "REL TO", "USA JPN"),
        ("CONFIDENTIAL", "REL TO", "USA PHL"),
        ("SECRET", "NOFORN", None),
    ]
    offers = []
    for i in range(64):
        access, caveat, rel = cot_markings[i % len(cot_markings)]
        marks = f' access="{access}"' + (f' caveat="{caveat}"' if caveat else "")
        marks += f' releasableTo="{rel}"' if rel else ""
        wire = (
            f'<event version="2.0" uid="u-{i}" type="a-f-G-U-C" how="m-g" time="{stamp}" '
            f'start="{stamp}" stale="{stale}"{marks}><point lat="35.{i:02d}" lon="139.3" hae="0" '
            f'ce="9" le="9"/><detail><contact callsign="U{i}" endpoint="*:-1:stcp"/>'
            f"<remarks>exact</remarks></detail></event>"
        ).encode()
        event = parse_xml(wire)
        marking = marking_from_cot(access, caveat, rel, DEFAULT_POLICY).with_originator("USA")
        offers.append(Offer(event, marking, PUBLIC, NO_ORIGIN, "us-ops", now))
    rules = load_rules(RULES, "grid.toml", DEFAULT_POLICY) if coarsen else NO_RULES
    peer = PeerView("JPN-SRV", federate_principal("JPN-SRV", "JPN", "SECRET"), rules)
    guard = Guard(Audience(ReleaseCache(DEFAULT_POLICY)), DEFAULT_POLICY, "usa.example", "USA")
    link = Link(peer, guard, "server-id", backlog_max=100_000)
    link.up(now)
    crossed = 0
    start = time.process_time()
    for n in range(items):
        if link.offer(offers[n & 63], now) is None:
            crossed += 1
        if n & 255 == 255:
            link.take(256, now)
    cpu = time.process_time() - start
    return {"items": items, "crossed": crossed, "items_per_s": round(items / cpu)}


def _measure_guard(items: int) -> dict[str, Any]:
    rows: dict[str, Any] = {}
    for name, coarsen in (("no_rules", False), ("coarsen_1km", True)):
        runs = [_guard(items, coarsen) for _ in range(REPEATS)]
        best = max(runs, key=lambda r: r["items_per_s"])
        rows[name] = {**best, "repeats_items_per_s": [r["items_per_s"] for r in runs]}
    return rows


async def guard_rate(items: int = ITEMS, timeout_s: float = 300.0) -> dict[str, Any]:
    """:func:`_measure_guard` in a child process pinned to one core."""
    code = f"import json, bench.federation as f; print(json.dumps(f._measure_guard({items})))"
    return await measure_in_child(code, "guard measurement", timeout_s)


# -- end to end --------------------------------------------------------------------


def _cli(*args: str) -> str:
    done = subprocess.run([*CLI, *args], capture_output=True, text=True, cwd=ROOT, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"allied-c2 {' '.join(args)}: {done.stderr.strip()[-400:]}")
    return done.stdout


def _serve(data: Path, log: Path) -> subprocess.Popen[bytes]:
    argv = [*CLI, "serve", "--data-dir", str(data), "--cot-tcp", "127.0.0.1:0"]
    argv += ["--cot-tls", "off", "--http", "off", "--federation", "127.0.0.1:0"]
    argv += ["--federation-nation", "USA" if data.name == "usa" else "JPN"]
    with log.open("wb") as out:
        return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)


async def _endpoints(data: Path, proc: subprocess.Popen[bytes], limit_s: float = 60.0) -> Any:
    path = data / "endpoints.json"
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server in {data} exited {proc.returncode}")
        if path.exists():
            try:
                return json.loads(path.read_text())
            except ValueError:
                pass
        await asyncio.sleep(0.1)
    raise RuntimeError(f"server in {data} did not start")


async def _receive(reader: asyncio.StreamReader, seen: dict[str, float]) -> None:
    buffer = b""
    while True:
        chunk = await reader.read(65536)
        if not chunk:
            return
        at = time.time_ns()
        buffer += chunk
        *events, buffer = buffer.split(b"</event>")
        for event in events:
            found = LATENCY_UID.search(event)
            if found is not None:
                key = found.group(0).decode()
                if key not in seen:
                    seen[key] = (at - int(found.group(2))) / 1e6


async def _drain(reader: asyncio.StreamReader) -> None:
    while await reader.read(65536):
        pass


async def _send(writer: asyncio.StreamWriter, sender: int, stop: float, sent: list[int]) -> None:
    n = 0
    interval = 1.0 / RATE
    next_at = time.monotonic()
    while time.monotonic() < stop:
        writer.write(latency_pli(f"lat-{sender * 1_000_000 + n}-{time.time_ns()}"))
        n += 1
        sent[0] += 1
        next_at += interval
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))
    await writer.drain()


def _certificates(out: Path, nodes: tuple[Path, ...]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for node in nodes:
        _cli("federate", "cert", "--data-dir", str(node), "--out", str(out / f"{node.name}-cert"))


async def latency(
    out: Path, duration_s: float = DURATION_S, *, across: bool = True
) -> dict[str, Any]:
    """Two servers federated on loopback; latency from a US client to JPN clients
    (``across=False``: to US clients, the same load without the link, for comparison)."""
    usa, jpn = out / "usa", out / "jpn"
    await asyncio.to_thread(_certificates, out, (usa, jpn))
    procs = [_serve(usa, out / "usa.log"), _serve(jpn, out / "jpn.log")]
    try:
        usa_ep, jpn_ep = [await _endpoints(d, p) for d, p in zip((usa, jpn), procs, strict=True)]

        def add(on: Path, peer: str, nation: str, *connect: str) -> None:
            cert = out / f"{peer.lower()}-cert"
            _cli(
                "federate", "add", "--data-dir", str(on), "--name", f"{peer}-SRV",
                "--nation", nation, "--clearance", "SECRET", "--peer-ca", str(cert / "ca.pem"),
                "--peer-cert", str(cert / "federation.pem"), *connect,
            )  # fmt: skip

        await asyncio.to_thread(add, jpn, "USA", "USA")
        await asyncio.to_thread(add, usa, "JPN", "JPN", "--connect", jpn_ep["federation"])
        host, port = (jpn_ep if across else usa_ep)["cot_tcp"].rsplit(":", 1)
        receivers = [await asyncio.open_connection(host, int(port)) for _ in range(RECEIVERS)]
        seen: list[dict[str, float]] = [{} for _ in receivers]
        tasks = [
            asyncio.create_task(_receive(r, s)) for (r, _), s in zip(receivers, seen, strict=True)
        ]
        host, port = usa_ep["cot_tcp"].rsplit(":", 1)
        senders = [await asyncio.open_connection(host, int(port)) for _ in range(SENDERS)]
        # Senders read what the server relays to them, as TAK clients do: a sender that
        # never reads fills its socket, and the server then spends the run on a slow
        # reader's queue (server/outqueue.py), which is not the medium scenario.
        tasks += [asyncio.create_task(_drain(reader)) for reader, _ in senders]
        # The link comes up within a few seconds: probe until an item crosses.
        deadline = time.monotonic() + 60
        while not seen[0] and time.monotonic() < deadline:
            senders[0][1].write(latency_pli(f"lat-999999999-{time.time_ns()}"))
            await asyncio.sleep(0.25)
        if not seen[0]:
            return {"skipped": "the federation link did not come up within 60 s"}
        await asyncio.sleep(1.0)
        for s in seen:
            s.clear()
        sent = [0]
        stop = time.monotonic() + duration_s
        await asyncio.gather(*(_send(w, i, stop, sent) for i, (_, w) in enumerate(senders)))
        await asyncio.sleep(2.0)  # what is in flight arrives
        for task in tasks:
            task.cancel()
        for _, writer in senders + receivers:
            writer.close()
        values = sorted(v for s in seen for v in s.values())
        received = min(len(s) for s in seen)
        if not values:
            return {"skipped": "nothing crossed"}
        return {
            "across": across,
            "loadavg": [round(x, 2) for x in os.getloadavg()],
            "senders": SENDERS,
            "rate_per_sender": RATE,
            "receivers": RECEIVERS,
            "duration_s": duration_s,
            "sent": sent[0],
            "received_per_receiver_min": received,
            "lost": max(0, sent[0] - received),
            "latency_ms": {
                "p50": round(percentile(values, 0.50), 3),
                "p95": round(percentile(values, 0.95), 3),
                "p99": round(percentile(values, 0.99), 3),
                "max": round(values[-1], 3),
            },
        }
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()


async def measure(out: Path) -> dict[str, Any]:
    """The row; ``local`` is the same load to US clients, without the link, for comparison."""
    return {
        "guard": await guard_rate(),
        "end_to_end": await latency(out / "across"),
        "local": await latency(out / "local", across=False),
    }


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "var" / "bench" / "federation"
    print(json.dumps(asyncio.run(measure(target)), indent=2))

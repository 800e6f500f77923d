"""Issue 12's channels row: the relay's fan-out to 100 receivers, without and with 10 groups.

In process, on the hub itself (no sockets: the row isolates what groups cost
or save in the fan-out, the part the audience key changed). 100 identified
receivers; in the grouped run they are in 10 groups of 10 (TAK channels, both
directions), and each of 10 senders writes to its own group, so a broadcast
reaches 10 receivers instead of 100. Reported: microseconds of relay CPU per
event (ingest plus its share of the turn's fan-out) and deliveries per second.
Runs in a child process pinned to the load generator's core, like simrate.py.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.child import measure_in_child

RECEIVERS = 100
GROUPS = 10
EVENTS = 20_000
TURN = 64  # broadcasts per event-loop turn, as a busy relay flushes them
REPEATS = 3


def _measure(events: int) -> dict[str, Any]:
    from allied_c2.cot.event import WireFormat
    from allied_c2.cot.xmlcodec import parse_xml
    from allied_c2.security.groups import Membership, channels_of
    from allied_c2.security.policy import DEFAULT_POLICY
    from allied_c2.security.principals import Principal
    from allied_c2.server.hub import Hub

    class Sink:
        def __init__(self, principal: Principal, name: str) -> None:
            self.principal = principal
            self.uid: str | None = None
            self.callsign: str | None = None
            self.group_name: str | None = None
            self.peer_name = name
            self.delivered = 0

        @property
        def output_format(self) -> WireFormat:
            return WireFormat.XML

        def send(self, key: str | None, event: object) -> None:
            self.delivered += 1

        def begin_catch_up(self, uids: list[str]) -> None:
            pass

        def deliver(self, data: bytes, items: list[Any]) -> None:
            self.delivered += len(items)

        def close(self, reason: str, detail: str) -> None:
            pass

    now = datetime.now(UTC)
    stamp = now.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    stale = (now + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z")

    def pli(uid: str) -> bytes:
        return (
            f'<event version="2.0" uid="{uid}" type="a-f-G-U-C" how="m-g" time="{stamp}" '
            f'start="{stamp}" stale="{stale}"><point lat="35.7" lon="139.3" hae="0" ce="9" '
            f'le="9"/><detail><contact callsign="{uid}" endpoint="*:-1:stcp"/></detail></event>'
        ).encode()

    def run(grouped: bool) -> dict[str, Any]:
        hub = Hub(DEFAULT_POLICY, DEFAULT_POLICY.default_marking)
        receivers = [
            Sink(Principal(f"R{i:03d}", "USA", "SECRET"), f"r{i}") for i in range(RECEIVERS)
        ]
        senders = [Sink(Principal(f"S{g:02d}", "USA", "SECRET"), f"s{g}") for g in range(GROUPS)]
        if grouped:
            channels = {
                r.principal.callsign: channels_of([Membership(f"G{i % GROUPS}")])
                for i, r in enumerate(receivers)
            }
            for g, s in enumerate(senders):
                channels[s.principal.callsign] = channels_of([Membership(f"G{g}")])
            hub.set_channels(channels, now)
        for peer in receivers + senders:
            hub.attach(peer, now)
        decoded = [parse_xml(pli(f"u-{g}")) for g in range(GROUPS)]
        wires = [e.xml_wire for e in decoded]
        start = time.process_time()
        for n in range(events):
            g = n % GROUPS
            event = parse_xml(wires[g])
            hub.ingest(senders[g], senders[g].principal, event, now)
            if n % TURN == TURN - 1:
                hub.flush()
        hub.flush()
        cpu = time.process_time() - start
        delivered = sum(r.delivered for r in receivers)
        return {
            "grouped": grouped,
            "receivers": RECEIVERS,
            "groups": GROUPS if grouped else 0,
            "events": events,
            "deliveries": delivered,
            "us_per_event": round(cpu / events * 1e6, 2),
            "deliveries_per_s": round(delivered / cpu) if cpu else None,
        }

    rows: dict[str, Any] = {}
    for name, grouped in (("no_groups", False), ("ten_groups", True)):
        repeats = [run(grouped) for _ in range(REPEATS)]
        best = min(repeats, key=lambda r: r["us_per_event"])
        rows[name] = {**best, "repeats_us_per_event": [r["us_per_event"] for r in repeats]}
    return rows


async def measure(events: int = EVENTS, timeout_s: float = 300.0) -> dict[str, Any]:
    """Run :func:`_measure` in a child process on the load generator's core."""
    code = f"import json, bench.groups as g; print(json.dumps(g._measure({events})))"
    return await measure_in_child(code, "groups fan-out", timeout_s)


if __name__ == "__main__":
    print(json.dumps(asyncio.run(measure()), indent=2))

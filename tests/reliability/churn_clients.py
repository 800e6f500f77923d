"""The reconnect storm's clients, in a process of their own.

``python -m tests.reliability.churn_clients HOST PORT CERTS``.

Run apart from the test so that the latency probe measures the server, not the
storm's own client-side handshakes (each one an RSA signature of its own, in
the same event loop as the probe). First all ``clients`` connect and stay for
``--hold`` seconds (printing ``held``), so that the baseline is measured with the
same receivers connected. Then every round all of them connect with one
certificate (full handshakes, no session resumption: the worst case), and once
all are in, all drop at once and the next round starts. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from pathlib import Path

from tests.support.cot import client_tls


class Quiet(asyncio.Protocol):
    def data_received(self, data: bytes) -> None:
        pass


async def churn(
    host: str, port: int, certs: Path, name: str, clients: int, hold: float, seconds: float
) -> dict[str, int]:
    loop = asyncio.get_running_loop()
    context = client_tls(certs, name)
    rounds = handshakes = failures = 0
    stop_at: float | None = None
    while stop_at is None or time.monotonic() < stop_at:
        results = await asyncio.gather(
            *(loop.create_connection(Quiet, host, port, ssl=context) for _ in range(clients)),
            return_exceptions=True,
        )
        connected = [r for r in results if not isinstance(r, BaseException)]
        if stop_at is None:  # the first round stays: the baseline's receivers
            print("held", flush=True)
            await asyncio.sleep(hold)
            stop_at = time.monotonic() + seconds
        else:
            failures += len(results) - len(connected)
            handshakes += len(connected)
            rounds += 1
        for transport, _ in connected:
            transport.abort()
    return {"rounds": rounds, "handshakes": handshakes, "failed_connects": failures}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("certs", type=Path)
    parser.add_argument("--name", default="CHURN")
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--hold", type=float, default=0.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--nice", type=int, default=0)
    args = parser.parse_args()
    if args.nice:
        os.nice(args.nice)
    figures = asyncio.run(
        churn(args.host, args.port, args.certs, args.name, args.clients, args.hold, args.seconds)
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()

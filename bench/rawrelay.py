"""The reference a TAK server is measured against: the least work a relay can do.

It splits each client's TCP stream at ``</event>`` and copies the complete events of each
read, unparsed and unstored, to every other connected client, in one write per read.
Issue 2 quotes about 800,000 deliveries/s for its raw relay; this one reaches about twice
that here, so the ratio ``make bench`` reports is the stricter one. ``--per-event`` writes
each event on its own instead (far slower: about 150,000/s), reported beside it for
comparison. Nothing is dropped:
when any client's send buffer passes its high-water mark, reading stops on every
connection until it drains, so the relay runs at the pace its readers can take rather
than buffering without bound.

Run as ``python -m bench.rawrelay --data-dir DIR [--port 0]``; like ``allied-c2 serve``
it writes ``DIR/endpoints.json`` (``{"cot_tcp": "127.0.0.1:PORT", "pid": N}``) once it
listens, and stops on SIGTERM or SIGINT. ``--tls`` listens with mutual TLS instead
(``cot_tls``), using the server certificate and CA in ``DIR/pki`` and allied-c2's own
TLS rules (pki/tls.py), so the TLS rows compare relays, not cryptography.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
from pathlib import Path
from typing import cast

import uvloop

EVENT_END = b"</event>"
MAX_PARTIAL = 1 << 20  # a client that sends a megabyte without </event> is cut off
WRITE_HIGH_WATER = 1 << 20


class Relay:
    def __init__(self, per_event: bool = False) -> None:
        self.per_event = per_event
        self.clients: set[RelayClient] = set()
        self._congested: set[RelayClient] = set()

    def join(self, client: RelayClient) -> None:
        self.clients.add(client)
        if self._congested:
            client.pause()

    def leave(self, client: RelayClient) -> None:
        self.clients.discard(client)
        self.relieved(client)

    def broadcast(self, source: RelayClient, data: bytes) -> None:
        for client in self.clients:
            if client is not source:
                client.send(data)

    def congested(self, client: RelayClient) -> None:
        if not self._congested:
            for other in self.clients:
                other.pause()
        self._congested.add(client)

    def relieved(self, client: RelayClient) -> None:
        if client not in self._congested:
            return
        self._congested.discard(client)
        if not self._congested:
            for other in self.clients:
                other.resume()


class RelayClient(asyncio.Protocol):
    def __init__(self, relay: Relay) -> None:
        self.relay = relay
        self.transport: asyncio.Transport | None = None
        self._partial = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it
        self.transport = cast(asyncio.Transport, transport)
        sock = self.transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.transport.set_write_buffer_limits(high=WRITE_HIGH_WATER)
        self.relay.join(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.relay.leave(self)
        self.transport = None

    def data_received(self, data: bytes) -> None:
        buf = self._partial + data if self._partial else data
        end = buf.rfind(EVENT_END)
        if end < 0:
            self._partial = buf
            if len(buf) > MAX_PARTIAL and self.transport is not None:
                self.transport.close()
            return
        end += len(EVENT_END)
        complete = buf if end == len(buf) else buf[:end]
        self._partial = b"" if end == len(buf) else buf[end:]
        if not self.relay.per_event:
            self.relay.broadcast(self, complete)
            return
        start = 0
        while start < end:
            stop = complete.index(EVENT_END, start) + len(EVENT_END)
            self.relay.broadcast(self, complete[start:stop])
            start = stop

    def send(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def pause_writing(self) -> None:
        self.relay.congested(self)

    def resume_writing(self) -> None:
        self.relay.relieved(self)

    def pause(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.pause_reading()

    def resume(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.resume_reading()


def write_endpoints(data_dir: Path, endpoints: dict[str, object]) -> None:
    """Atomically, so a reader polling for the file never sees half of it."""
    data_dir.mkdir(parents=True, exist_ok=True)
    tmp = data_dir / "endpoints.json.tmp"
    tmp.write_text(json.dumps(endpoints))
    tmp.replace(data_dir / "endpoints.json")


async def serve(
    data_dir: Path, host: str, port: int, per_event: bool = False, tls: bool = False
) -> None:
    loop = asyncio.get_running_loop()
    relay = Relay(per_event)
    context = None
    if tls:
        from allied_c2.pki.tls import server_ssl_context

        context = server_ssl_context(data_dir)
    server = await loop.create_server(
        lambda: RelayClient(relay),
        host,
        port,
        backlog=4096,
        ssl=context,
        ssl_handshake_timeout=10.0 if context else None,
    )
    bound = server.sockets[0].getsockname()
    name = "cot_tls" if tls else "cot_tcp"
    write_endpoints(data_dir, {name: f"{bound[0]}:{bound[1]}", "pid": os.getpid()})
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.close()
    for client in list(relay.clients):
        if client.transport is not None:
            client.transport.abort()
    await server.wait_closed()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument(
        "--per-event", action="store_true", help="one write per event instead of one per read"
    )
    parser.add_argument("--tls", action="store_true", help="mutual TLS with DIR/pki's server cert")
    args = parser.parse_args(argv)
    uvloop.run(serve(args.data_dir, args.host, args.port, args.per_event, args.tls))


if __name__ == "__main__":
    main()

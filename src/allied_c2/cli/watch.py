"""`allied-c2 watch`: a terminal view of the picture, as a plain CoT client sees it."""

from __future__ import annotations

import asyncio
import json
import ssl
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from allied_c2.cot.errors import CotError
from allied_c2.cot.event import CotEvent
from allied_c2.cot.framing import FramingError, StreamFramer, XmlFrame
from allied_c2.cot.xmlcodec import parse_xml

if TYPE_CHECKING:
    from rich.table import Table


def _endpoint_from(data_dir: Path, name: str) -> tuple[str, int]:
    path = data_dir / "endpoints.json"
    try:
        endpoints = json.loads(path.read_text())
        host, _, port = str(endpoints[name]).rpartition(":")
        return host, int(port)
    except (OSError, KeyError, ValueError) as exc:
        raise typer.BadParameter(f"no running server found in {path} ({exc})") from exc


def _table(items: dict[str, CotEvent], received: int, server: str) -> Table:
    from rich.table import Table

    now = datetime.now(UTC)
    table = Table(title=f"allied-c2 picture from {server} — {len(items)} items, {received} events")
    for column in ("callsign", "uid", "type", "lat", "lon", "marking", "age s"):
        table.add_column(column)
    for event in sorted(items.values(), key=lambda e: e.callsign or e.uid):
        marking = event.access or "-"
        if event.caveat:
            marking += f"//{event.caveat} {event.releasable_to or ''}".rstrip()
        table.add_row(
            event.callsign or "",
            event.uid,
            event.type,
            f"{event.lat:.4f}",
            f"{event.lon:.4f}",
            marking,
            f"{(now - event.time).total_seconds():.0f}",
        )
    return table


async def _watch(host: str, port: int, tls: ssl.SSLContext | None, seconds: float | None) -> None:
    reader, writer = await asyncio.open_connection(host, port, ssl=tls)
    framer = StreamFramer()
    items: dict[str, CotEvent] = {}
    received = 0
    deadline = None if seconds is None else asyncio.get_running_loop().time() + seconds
    # rich here, not at the top: `serve` registers this command too, and rich would
    # stay resident in every server for a view it never shows (1.9 MB, docs/benchmarks.md).
    from rich.console import Console
    from rich.live import Live

    console = Console()
    with Live(
        _table(items, received, f"{host}:{port}"), console=console, refresh_per_second=2
    ) as live:
        while deadline is None or asyncio.get_running_loop().time() < deadline:
            try:
                data = await asyncio.wait_for(reader.read(65536), timeout=1.0)
            except TimeoutError:
                data = None
            if data == b"":
                break
            if data:
                framer.receive_data(data)
                while (frame := framer.next_frame()) is not None:
                    if isinstance(frame, FramingError) or not isinstance(frame, XmlFrame):
                        continue
                    try:
                        event = parse_xml(frame.data)
                    except CotError:
                        continue
                    if event.type.startswith("t-"):
                        continue
                    received += 1
                    if event.type == "t-x-d-d":
                        continue
                    items[event.uid] = event
            now = datetime.now(UTC)
            for uid in [u for u, e in items.items() if e.stale <= now]:
                del items[uid]
            live.update(_table(items, received, f"{host}:{port}"))
    writer.close()


def watch_command(
    data_dir: Annotated[
        Path, typer.Option("--data-dir", help="Data dir of a running server")
    ] = Path("var"),
    host: Annotated[
        str | None, typer.Option(help="Server host (default: from endpoints.json)")
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="CoT TCP port (default: from endpoints.json)")
    ] = None,
    cert: Annotated[
        Path | None, typer.Option(help="Client certificate (PEM) to watch over TLS")
    ] = None,
    key: Annotated[Path | None, typer.Option(help="Client private key (PEM)")] = None,
    ca: Annotated[
        Path | None, typer.Option(help="CA certificate (PEM) the server is signed by")
    ] = None,
    seconds: Annotated[float | None, typer.Option(help="Stop after this many seconds")] = None,
) -> None:
    """Print the live picture as a TAK client would receive it (plain TCP = anonymous)."""
    tls: ssl.SSLContext | None = None
    if cert is not None:
        tls = ssl.create_default_context(cafile=str(ca) if ca else None)
        tls.check_hostname = False
        tls.load_cert_chain(str(cert), str(key) if key else None)
        name = "cot_tls"
    else:
        name = "cot_tcp"
    if host is None or port is None:
        found_host, found_port = _endpoint_from(data_dir, name)
        host = host or found_host
        port = port or found_port
    try:
        asyncio.run(_watch(host, port, tls, seconds))
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        raise typer.BadParameter(f"cannot connect to {host}:{port}: {exc}") from exc

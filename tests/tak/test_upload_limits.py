"""A 200 MiB upload is refused at the 100 MiB bound without the server's memory growing."""

from __future__ import annotations

from typing import Any

from tests.support.inprocess import InProcessServer
from tests.tak.packages_support import EAGLE

MIB = 1 << 20
BOUNDARY = b"allied-c2-test-boundary"


def rss_kb() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def post(
    server: InProcessServer, total: int, *, declared: bool, multipart: bool = True
) -> tuple[int, int, int]:
    """POST ``total`` bytes to missionupload straight through ASGI; returns (status, bytes the
    server pulled, peak RSS growth in KiB while it ran)."""
    token = server.tokens[EAGLE.callsign]
    headers = [(b"host", b"allied-c2.test"), (b"authorization", f"Bearer {token}".encode())]
    head = (
        b"--" + BOUNDARY + b'\r\nContent-Disposition: form-data; name="assetfile"; '
        b'filename="big.zip"\r\nContent-Type: application/zip\r\n\r\n'
    )
    if multipart:
        headers.append((b"content-type", b"multipart/form-data; boundary=" + BOUNDARY))
    if declared:
        headers.append((b"content-length", str(total + len(head)).encode()))
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/Marti/sync/missionupload",
        "raw_path": b"/Marti/sync/missionupload",
        "query_string": b"filename=big.zip",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("allied-c2.test", 80),
        "state": {},
    }
    chunk = b"\0" * MIB
    pulled = 0
    status = 0
    start = rss_kb()
    peak = start

    async def receive() -> dict[str, Any]:
        nonlocal pulled, peak
        peak = max(peak, rss_kb()) if pulled % (8 * MIB) == 0 else peak
        if pulled == 0 and multipart:
            pulled += 1
            return {"type": "http.request", "body": head, "more_body": True}
        if pulled >= total:
            return {"type": "http.disconnect"}
        pulled += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": pulled < total}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    server.loop.run_until_complete(server.app(scope, receive, send))
    return status, pulled, max(peak, rss_kb()) - start


def test_a_declared_200_mib_upload_is_refused_before_it_is_read(server: InProcessServer) -> None:
    status, pulled, grown = post(server, 200 * MIB, declared=True)
    assert status == 413 and pulled == 0
    assert grown < 16 * 1024


def test_a_streamed_200_mib_upload_stops_at_the_bound(server: InProcessServer) -> None:
    for multipart in (True, False):  # ATAK's multipart and iTAK's raw body alike
        status, pulled, grown = post(server, 200 * MIB, declared=False, multipart=multipart)
        assert status == 413
        assert pulled <= 101 * MIB + 1  # stopped at the bound, the rest never read
        assert grown < 32 * 1024, f"RSS grew {grown} KiB"
    incoming = server.runtime.packages.files.directory / ".incoming"
    assert list(incoming.iterdir()) == []  # the partial file is gone
    assert server.runtime.packages.store.all() == []

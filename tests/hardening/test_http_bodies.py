"""Issue 9 C: request bodies are bounded, JSON depth and strings too."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from tests.hardening.conftest import Node, NodeFactory

CHUNK = 64 * 1024


async def test_a_declared_large_body_is_refused_before_it_is_sent(node: Node) -> None:
    """A real socket: headers announce 50 MiB, not a byte of the body follows; the
    server answers 413 at once instead of waiting to read it."""
    reader, writer = await asyncio.open_connection(*node.address("http"))
    try:
        writer.write(
            b"POST /api/v1/requests HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 52428800\r\n\r\n"
        )
        await writer.drain()
        status = await asyncio.wait_for(reader.readline(), timeout=5)
    finally:
        writer.close()
    assert status.startswith(b"HTTP/1.1 413")


async def test_a_streamed_body_is_cut_off_at_the_bound(make_node: NodeFactory) -> None:
    node = await make_node(max_http_body=256 * 1024)
    sent = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(100):  # 6.4 MiB, chunked: no Content-Length to refuse up front
            sent += 1
            yield b" " * CHUNK

    async with node.asgi() as client:
        response = await client.post("/api/v1/requests", content=body())
    assert response.status_code == 413
    assert "over 262144 bytes" in response.json()["detail"]
    assert sent <= 6  # refused as soon as the bound was passed, not read whole


async def test_deep_json_is_refused(node: Node) -> None:
    deep = '{"kind": ' + "[" * 5000 + "]" * 5000 + "}"  # json's C parser would recurse
    async with node.asgi() as client:
        response = await client.post(
            "/api/v1/requests", content=deep, headers={"Content-Type": "application/json"}
        )
    assert response.status_code == 422
    assert "nested deeper than 32 levels" in response.json()["detail"]


async def test_long_json_strings_are_refused(node: Node) -> None:
    async with node.asgi() as client:
        response = await client.post(
            "/api/v1/requests", json={"subject": "x" * 100_000}, headers=node.auth("EAGLE")
        )
    assert response.status_code == 422
    assert "longer than 65536 characters" in response.json()["detail"]


async def test_ordinary_bodies_pass(node: Node) -> None:
    async with node.asgi() as client:
        response = await client.post(
            "/api/v1/requests", json={"kind": "x", "subject": "ok"}, headers=node.auth("EAGLE")
        )
    # No scenario is loaded: the handler itself answers (the guard let it through).
    assert response.status_code not in (413, 422, 503), response.text

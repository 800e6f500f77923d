"""History and the picture survive a restart, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path

import pytest
import takproto

from tests.support.cot import CotClient, marker, pli
from tests.support.server import ServerProcess, cli


async def _send_and_confirm(server: ServerProcess, items: list[tuple[str, bytes]]) -> None:
    host, port = server.address("cot_tcp")
    sender = await CotClient.connect(host, port)
    witness = await CotClient.connect(host, port)
    try:
        for _, data in items:
            await sender.send(data)
        for uid, _ in items:
            await witness.wait_uid(uid)
    finally:
        await sender.close()
        await witness.close()


async def _restart_round_trip(data: Path, *extra: str) -> None:
    first = ServerProcess(data, *extra).start()
    items = [
        (f"restart-{i}", pli(f"restart-{i}", f"RESTART-{i}", 35.0 + i / 100, 139.0))
        for i in range(5)
    ]
    items.append(("restart-0", pli("restart-0", "RESTART-0", 35.5, 139.5)))  # a newer report
    try:
        await _send_and_confirm(first, items)
    finally:
        assert first.stop() == 0, first.log()  # a clean stop flushes everything

    second = ServerProcess(data, *extra).start()
    try:
        host, port = second.address("cot_tcp")
        late = await CotClient.connect(host, port)
        try:
            for i in range(5):
                await late.wait_uid(f"restart-{i}")
            newest = [e for e in late.events if e.uid == "restart-0"][-1]
            assert abs(newest.lat - 35.5) < 1e-9, "the picture keeps the latest report per uid"
        finally:
            await late.close()
        history = second.get_json("/api/v1/events?uid=restart-0")["events"]
        assert [round(e["lat"], 3) for e in history] == [35.0, 35.5]
        picture = second.get_json("/api/v1/picture")
        assert {f"restart-{i}" for i in range(5)} <= {i["uid"] for i in picture["items"]}
    finally:
        second.stop()


async def test_restart_keeps_history_and_picture_on_sqlite(tmp_path: Path) -> None:
    await _restart_round_trip(tmp_path / "data")
    out = cli(
        "history",
        "--as-operator",
        "--data-dir",
        str(tmp_path / "data"),
        "--uid",
        "restart-3",
        "--format",
        "json",
    ).stdout
    assert "restart-3" in out and "RESTART-3" in out


@pytest.mark.postgres
async def test_restart_keeps_history_and_picture_on_postgresql(
    tmp_path: Path, postgres_url: str
) -> None:
    await _restart_round_trip(tmp_path / "data", "--database-url", postgres_url)
    out = cli(
        "history",
        "--as-operator",
        "--data-dir",
        str(tmp_path / "data"),
        "--database-url",
        postgres_url,
        "--uid",
        "restart-1",
        "--format",
        "json",
    ).stdout
    assert "RESTART-1" in out


async def test_hard_kill_loses_nothing_older_than_the_flush_window(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = ServerProcess(data).start()
    items = [(f"kill-{i}", marker(f"kill-{i}", 10.0, 120.0 + i / 10)) for i in range(20)]
    try:
        await _send_and_confirm(server, items)
        await asyncio.sleep(1.0)  # 4x the documented window (store_flush_interval = 0.25 s)
    finally:
        server.kill()
    again = ServerProcess(data).start()
    try:
        stored = {e["uid"] for e in again.get_json("/api/v1/events?limit=10000")["events"]}
        assert {uid for uid, _ in items} <= stored
    finally:
        again.stop()


async def test_udp_input_in_xml_and_mesh_protobuf(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data", udp=True).start()
    try:
        host, port = server.address("cot_tcp")
        listener = await CotClient.connect(host, port)
        udp_host, udp_port = server.address("cot_udp")
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.sendto(pli("udp-xml", "UDP-XML"), (udp_host, udp_port))
            mesh = takproto.xml2proto(
                pli("udp-mesh", "UDP-MESH").split(b"?>", 1)[1], takproto.TAKProtoVer.MESH
            )
            sock.sendto(bytes(mesh), (udp_host, udp_port))
            sock.sendto(b"\xbf\x01\xbf garbage", (udp_host, udp_port))
            assert (await listener.wait_uid("udp-xml")).callsign == "UDP-XML"
            assert (await listener.wait_uid("udp-mesh")).callsign == "UDP-MESH"
        finally:
            sock.close()
            await listener.close()
        endpoints = json.loads((tmp_path / "data" / "endpoints.json").read_text())
        assert "cot_udp" in endpoints
    finally:
        server.stop()

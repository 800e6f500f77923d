"""Real TAK client libraries against a real server: pytak (XML) and takproto (protocol v1)."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import takproto
from takproto.proto import TakMessage

from allied_c2.cot.event import WireFormat
from allied_c2.cot.framing import ProtoFrame, StreamFramer
from tests.support.cot import CotClient, direct_chat, ping, pli
from tests.support.pytak_client import PytakClient
from tests.support.server import ServerProcess

Coalition = tuple[ServerProcess, Path]


async def test_two_pytak_clients_see_each_other_over_tcp(coalition: Coalition) -> None:
    server, _ = coalition
    host, port = server.address("cot_tcp")
    a = await PytakClient.tcp(host, port)
    b = await PytakClient.tcp(host, port)
    try:
        await a.send(pli("tcp-A", "TCP-ALPHA", 35.68, 139.76))
        await b.send(pli("tcp-B", "TCP-BRAVO", 35.69, 139.70))
        seen_by_b = await b.wait_for_uid("tcp-A")
        seen_by_a = await a.wait_for_uid("tcp-B")
        assert seen_by_b.callsign == "TCP-ALPHA" and abs(seen_by_b.lat - 35.68) < 1e-9
        assert seen_by_a.callsign == "TCP-BRAVO"
        assert "tcp-A" not in {e.uid for e in a.events}, "the server must not echo to the sender"
    finally:
        await a.close()
        await b.close()


async def test_two_pytak_clients_see_each_other_over_mutual_tls(coalition: Coalition) -> None:
    server, certs = coalition
    host, port = server.address("cot_tls")
    a = await PytakClient.tls(host, port, certs, "ALPHA")
    b = await PytakClient.tls(host, port, certs, "BRAVO")
    try:
        await a.send(pli("tls-A", "ALPHA"))
        await b.send(pli("tls-B", "BRAVO"))
        assert (await b.wait_for_uid("tls-A")).callsign == "ALPHA"
        assert (await a.wait_for_uid("tls-B")).callsign == "BRAVO"
    finally:
        await a.close()
        await b.close()


async def test_late_client_gets_the_catch_up(coalition: Coalition) -> None:
    server, certs = coalition
    host, port = server.address("cot_tls")
    early = await PytakClient.tls(host, port, certs, "ALPHA")
    await early.send(pli("catchup-A", "ALPHA", 14.6, 121.0))
    await asyncio.sleep(0.3)
    late = await PytakClient.tls(host, port, certs, "BRAVO")
    try:
        event = await late.wait_for_uid("catchup-A")
        assert event.callsign == "ALPHA" and abs(event.lon - 121.0) < 1e-9
    finally:
        await early.close()
        await late.close()


async def test_direct_message_reaches_only_its_addressee(coalition: Coalition) -> None:
    server, _ = coalition
    host, port = server.address("cot_tcp")
    a, b, c = [await CotClient.connect(host, port) for _ in range(3)]
    try:
        await a.send(pli("dm-A", "DM-ALPHA"))
        await b.send(pli("dm-B", "DM-BRAVO"))
        await c.send(pli("dm-C", "DM-CHARLIE"))
        for client, uid in ((a, "dm-B"), (b, "dm-C"), (c, "dm-A")):
            await client.wait_uid(uid)
        await a.send(direct_chat("dm-A", "DM-ALPHA", "dm-B", "DM-BRAVO", "for bravo only"))
        chat = await b.wait_for(lambda e: e.type == "b-t-f")
        assert chat.remarks == "for bravo only"
        await c.send(ping("dm-C"))  # a round trip through the server orders the check below
        await c.wait_for(lambda e: e.type == "t-x-c-t-r")
        assert not [e for e in c.events if e.type == "b-t-f"]
    finally:
        for client in (a, b, c):
            await client.close()


async def test_direct_message_by_uid_as_itak_sends_it(coalition: Coalition) -> None:
    server, _ = coalition
    host, port = server.address("cot_tcp")
    a, b, c = [await CotClient.connect(host, port) for _ in range(3)]
    try:
        await a.send(pli("uid-A", "UID-ALPHA"))
        await b.send(pli("uid-B", "UID-BRAVO"))
        await c.send(pli("uid-C", "UID-CHARLIE"))
        await a.wait_uid("uid-B")
        await a.wait_uid("uid-C")
        message = direct_chat("uid-A", "UID-ALPHA", "uid-B", "UID-BRAVO", "by uid").replace(
            b'<marti><dest callsign="UID-BRAVO"/></marti>', b'<marti><dest uid="uid-B"/></marti>'
        )
        await a.send(message)
        assert (await b.wait_for(lambda e: e.type == "b-t-f")).remarks == "by uid"
        await c.send(ping("uid-C"))
        await c.wait_for(lambda e: e.type == "t-x-c-t-r")
        assert not [e for e in c.events if e.type == "b-t-f"]
    finally:
        for client in (a, b, c):
            await client.close()


async def test_ping_gets_a_pong_and_is_not_routed(coalition: Coalition) -> None:
    server, _ = coalition
    host, port = server.address("cot_tcp")
    a = await CotClient.connect(host, port)
    b = await CotClient.connect(host, port)
    try:
        await a.send(ping("pinger"))
        pong = await a.wait_for(lambda e: e.type == "t-x-c-t-r")
        assert pong.uid == "takPong"
        await b.send(ping("other"))
        await b.wait_for(lambda e: e.type == "t-x-c-t-r")
        assert not [e for e in b.events if e.type == "t-x-c-t"]
    finally:
        await a.close()
        await b.close()


def _negotiated_proto_client(host: str, port: int) -> tuple[socket.socket, StreamFramer]:
    """A TAK protocol v1 client: reads the offer, asks for v1, switches to 0xBF framing."""
    sock = socket.create_connection((host, port), timeout=5)
    framer = StreamFramer()
    buffered = b""
    while b"t-x-takp-v" not in buffered:
        buffered += sock.recv(65536)
    sock.sendall(
        b'<event version="2.0" uid="proto-client" type="t-x-takp-q" how="m-g" '
        b'time="2026-01-01T00:00:00Z" start="2026-01-01T00:00:00Z" stale="2030-01-01T00:00:00Z">'
        b'<point lat="0" lon="0" hae="0" ce="9999999" le="9999999"/><detail><TakControl>'
        b'<TakRequest version="1"/></TakControl></detail></event>'
    )
    while b"t-x-takp-r" not in buffered:
        buffered += sock.recv(65536)
    assert b'status="true"' in buffered
    tail = buffered.split(b"</event>")[-1]
    framer.switch_to(WireFormat.PROTO)
    framer.receive_data(tail)
    return sock, framer


def _proto_messages(sock: socket.socket, framer: StreamFramer, want: int) -> list[TakMessage]:
    out: list[TakMessage] = []
    while len(out) < want:
        data = sock.recv(65536)
        assert data, "server closed the protobuf client"
        framer.receive_data(data)
        while (frame := framer.next_frame()) is not None:
            assert isinstance(frame, ProtoFrame), frame
            # Decode with takproto, the TAK reference library, not with our own codec.
            message = takproto.parse_proto(b"\xbf" + _varint(len(frame.payload)) + frame.payload)
            if message.cotEvent.type not in ("t-x-takp-r",):
                out.append(message)
    return out


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        bits = value & 0x7F
        value >>= 7
        if value:
            out.append(bits | 0x80)
        else:
            out.append(bits)
            return bytes(out)


async def test_xml_and_protobuf_clients_interoperate(coalition: Coalition) -> None:
    server, _ = coalition
    host, port = server.address("cot_tcp")
    sock, framer = await asyncio.to_thread(_negotiated_proto_client, host, port)
    xml_client = await CotClient.connect(host, port)
    try:
        # protobuf → XML: takproto encodes an ATAK PLI as TAK protocol v1 stream bytes.
        proto_bytes = takproto.xml2proto(
            pli("proto-P", "PROTO-PAPA", 13.4, 144.7).split(b"?>", 1)[1],
            takproto.TAKProtoVer.STREAM,
        )
        await asyncio.to_thread(sock.sendall, bytes(proto_bytes))
        seen = await xml_client.wait_uid("proto-P")
        assert seen.callsign == "PROTO-PAPA" and abs(seen.lat - 13.4) < 1e-9
        assert b"<event" in xml_client.raw and b"\xbf" not in xml_client.raw
        # XML → protobuf: the negotiated client receives the XML client's event as v1.
        await xml_client.send(pli("xml-X", "XML-XRAY", 14.5, 120.9))
        messages = await asyncio.wait_for(
            asyncio.to_thread(_proto_messages, sock, framer, 1), timeout=10
        )
        uids = {m.cotEvent.uid: m for m in messages}
        while "xml-X" not in uids:
            more = await asyncio.to_thread(_proto_messages, sock, framer, 1)
            uids.update({m.cotEvent.uid: m for m in more})
        event = uids["xml-X"].cotEvent
        assert event.detail.contact.callsign == "XML-XRAY"
        assert abs(event.lat - 14.5) < 1e-9
    finally:
        sock.close()
        await xml_client.close()


async def test_pytak_protobuf_sender_is_understood(coalition: Coalition) -> None:
    """pytak with TAK_PROTO=1 opens straight in v1 framing without negotiating."""
    server, _ = coalition
    host, port = server.address("cot_tcp")
    sender = await PytakClient.tcp(host, port, proto=True)
    receiver = await CotClient.connect(host, port)
    try:
        await sender.send(pli("pytak-proto", "PYTAK-PROTO").split(b"?>", 1)[1])
        event = await receiver.wait_uid("pytak-proto")
        assert event.callsign == "PYTAK-PROTO"
    finally:
        await sender.close()
        await receiver.close()

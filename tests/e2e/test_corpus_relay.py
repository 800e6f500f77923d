"""The whole real-world corpus through a real server, to an XML and a TAK protocol v1 client.

One sender sends every message of ../shared/interop/cot-corpus/ as it is. A
public message must reach both receivers with nothing lost (element by element,
tests/support/interop.py); an addressed one (``<marti><dest>``, a GeoChat to a
room other than All Chat Rooms) must reach neither, since neither is its
addressee. Then every addressed message is sent again with its callsign and uid
destinations rewritten to the two receivers (mission destinations kept), and
must reach both, again with nothing lost.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from lxml import etree  # type: ignore[import-untyped, unused-ignore]
from takproto.proto import TakMessage

from allied_c2.cot.event import WireFormat
from allied_c2.cot.framing import ProtoFrame, StreamFramer, XmlFrame
from tests.support.cot import CotClient, marker, ping, pli
from tests.support.interop import (
    Canon,
    canon_message,
    canon_xml,
    differences,
    from_event,
    parse_event,
    require_corpus,
)
from tests.support.server import ServerProcess

TEAM = "Magenta"  # a team no corpus chat is addressed to
RX_XML = ("corpus-rx-xml", "RX-XML")
RX_PROTO = ("corpus-rx-proto", "RX-PROTO")
ALL_CHAT_ROOMS = "All Chat Rooms"
TAKP_REQUEST = (
    b'<event version="2.0" uid="corpus-rx-proto" type="t-x-takp-q" how="m-g"'
    b' time="2026-01-01T00:00:00Z" start="2026-01-01T00:00:00Z" stale="2030-01-01T00:00:00Z">'
    b'<point lat="0" lon="0" hae="0" ce="9999999" le="9999999"/><detail><TakControl>'
    b'<TakRequest version="1"/></TakControl></detail></event>'
)


@dataclass(frozen=True)
class Message:
    name: str
    data: bytes
    addressed: bool


def is_addressed(data: bytes) -> bool:
    """Addressed as the routing rules read it: explicit dests, or a directed GeoChat."""
    root = parse_event(data)
    if any(d.attrib for d in root.iterfind("detail/marti/dest")):
        return True
    if not root.get("type", "").startswith("b-t-f"):
        return False
    rooms = [c.get("chatroom") for c in root.iterfind("detail/*") if c.tag.startswith("__chat")]
    return any(room and room != ALL_CHAT_ROOMS for room in rooms)


def addressed_to_receivers(data: bytes) -> bytes:
    """``data`` with its callsign and uid destinations replaced by the two receivers."""
    root = parse_event(data)
    detail = root.find("detail")
    marti = detail.find("marti")
    if marti is None:
        marti = etree.SubElement(detail, "marti")
    for dest in list(marti.iterfind("dest")):
        if dest.get("callsign") or dest.get("uid"):
            marti.remove(dest)
    for _, callsign in (RX_XML, RX_PROTO):
        etree.SubElement(marti, "dest", {"callsign": callsign})
    serialized: bytes = etree.tostring(root, encoding="utf-8", xml_declaration=False)
    return serialized


class ProtoReceiver:
    """A client that negotiates TAK protocol v1 as ATAK does, and keeps every message."""

    def __init__(self) -> None:
        self.messages: list[TakMessage] = []
        self.framer = StreamFramer()
        self.writer: asyncio.StreamWriter | None = None
        self.task: asyncio.Task[None] | None = None

    @classmethod
    async def connect(cls, host: str, port: int) -> ProtoReceiver:
        receiver = cls()
        reader, receiver.writer = await asyncio.open_connection(host, port)
        uid, callsign = RX_PROTO
        raw = b""
        while b"t-x-takp-v" not in raw:
            raw += await asyncio.wait_for(reader.read(65536), 10)
        receiver.writer.write(pli(uid, callsign, team=TEAM) + TAKP_REQUEST)
        # The server answers in XML (the offer, the catch-up, then t-x-takp-r with
        # status true: the last XML it sends, cot/negotiation.py); protobuf follows.
        end = b"</event>"
        while b"t-x-takp-r" not in raw or raw.find(end, raw.find(b"t-x-takp-r")) < 0:
            data = await asyncio.wait_for(reader.read(65536), 10)
            assert data, "the server closed before TAK protocol v1 was agreed"
            raw += data
        cut = raw.find(end, raw.find(b"t-x-takp-r")) + len(end)
        xml, proto = raw[:cut], raw[cut:]
        assert b'TakResponse status="true"' in xml
        receiver.framer.receive_data(xml)
        while (frame := receiver.framer.next_frame()) is not None:
            assert isinstance(frame, XmlFrame), frame
        receiver.framer.switch_to(WireFormat.PROTO)
        receiver.framer.receive_data(proto)
        receiver._frames()
        receiver.task = asyncio.create_task(receiver._read(reader))
        return receiver

    def _frames(self) -> None:
        while (frame := self.framer.next_frame()) is not None:
            assert isinstance(frame, ProtoFrame), frame
            # Decoded with takproto's classes: what a TAK client reads.
            self.messages.append(TakMessage.FromString(frame.payload))

    async def _read(self, reader: asyncio.StreamReader) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(65536):
                self.framer.receive_data(data)
                self._frames()

    def canons(self) -> list[Canon]:
        return [canon_message(m) for m in self.messages if m.HasField("cotEvent")]

    def uids(self) -> set[str]:
        return {m.cotEvent.uid for m in self.messages}

    async def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        if self.writer is not None:
            self.writer.close()


def xml_canons(client: CotClient) -> list[Canon]:
    """What an XML client received, framed again and read with lxml alone."""
    framer = StreamFramer()
    framer.receive_data(bytes(client.raw))
    canons: list[Canon] = []
    while (frame := framer.next_frame()) is not None:
        if isinstance(frame, XmlFrame):
            canons.append(canon_xml(frame.data))
    return canons


def relayed(sent: Canon, received: list[Canon]) -> bool:
    """Whether ``sent`` is among ``received`` with nothing lost.

    The marking is compared apart: the server writes its default marking into
    an unmarked event, which is the one change a relay makes.
    """
    for got in received:
        if not differences(sent, got, marking=False):
            assert got.marking in (sent.marking, ("UNCLASSIFIED", None, None)), got.marking
            return True
    return False


@pytest.fixture(scope="module")
def relay(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = ServerProcess(tmp_path_factory.mktemp("corpus")).start()
    yield server
    server.stop()


async def _settle(sender: CotClient, receivers: tuple[CotClient, ProtoReceiver], uid: str) -> None:
    """Wait until the server has handled everything sent so far and both receivers have it."""
    pongs = sum(e.type == "t-x-c-t-r" for e in sender.events)
    await sender.send(ping("corpus-sender"))
    for _ in range(500):
        if sum(e.type == "t-x-c-t-r" for e in sender.events) > pongs:
            break
        await asyncio.sleep(0.02)
    await sender.send(marker(uid, 1.0, 1.0))  # a public marker: broadcast after all else
    xml_rx, proto_rx = receivers
    await xml_rx.wait_uid(uid, 10)
    for _ in range(500):
        if uid in proto_rx.uids():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"the protobuf receiver never got {uid}")


async def test_the_whole_corpus_is_relayed_losslessly_in_xml_and_protobuf(
    relay: ServerProcess,
) -> None:
    corpus = [
        Message(p.name, p.read_bytes(), is_addressed(p.read_bytes())) for p in require_corpus()
    ]
    host, port = relay.address("cot_tcp")
    sender = await CotClient.connect(host, port)
    xml_rx = await CotClient.connect(host, port)
    proto_rx = await ProtoReceiver.connect(host, port)
    receivers = (xml_rx, proto_rx)
    lossless_xml: set[str] = set()
    lossless_proto: set[str] = set()
    leaked: list[str] = []
    try:
        await sender.send(pli("corpus-sender", "CORPUS-SENDER", team=TEAM))
        await xml_rx.send(pli(*RX_XML, team=TEAM))
        await _settle(sender, receivers, "corpus-barrier-0")

        # 1. The corpus as it is: public messages reach both, addressed ones neither.
        for message in corpus:
            await sender.send(message.data)
        await _settle(sender, receivers, "corpus-barrier-1")
        got_xml, got_proto = xml_canons(xml_rx), proto_rx.canons()
        for message in corpus:
            sent = canon_xml(message.data)
            if message.addressed:
                if relayed(sent, got_xml) or relayed(sent, got_proto):
                    leaked.append(message.name)
                continue
            if relayed(sent, got_xml):
                lossless_xml.add(message.name)
            if relayed(sent, got_proto):
                lossless_proto.add(message.name)

        # 2. The addressed ones again, addressed to the two receivers.
        addressed = [m for m in corpus if m.addressed]
        for message in addressed:
            await sender.send(addressed_to_receivers(message.data))
        await _settle(sender, receivers, "corpus-barrier-2")
        got_xml, got_proto = xml_canons(xml_rx), proto_rx.canons()
        for message in addressed:
            sent = canon_xml(addressed_to_receivers(message.data))
            if relayed(sent, got_xml):
                lossless_xml.add(message.name)
            if relayed(sent, got_proto):
                lossless_proto.add(message.name)
    finally:
        for client in (sender, xml_rx, proto_rx):
            await client.close()

    # What the server relays it accepted; what it refused no receiver can have got.
    accepted = lossless_xml | lossless_proto
    names = {m.name for m in corpus}
    print(
        f"\ncorpus relay: {len(corpus)} sent, {len(accepted)} accepted,"
        f" {len(lossless_xml)} relayed losslessly in XML, {len(lossless_proto)} relayed"
        f" losslessly in protobuf; {len(addressed)} addressed, {len(leaked)} of them reached"
        " a client they were not addressed to"
    )
    assert leaked == [], f"addressed messages broadcast to a non-addressee: {leaked}"
    assert sorted(names - lossless_xml) == [], relay.log()[-4000:]
    assert sorted(names - lossless_proto) == [], relay.log()[-4000:]
    assert len(accepted) == len(lossless_xml) == len(lossless_proto) == len(corpus) == 78


def test_addressing_rewrite_keeps_everything_else() -> None:
    for path in require_corpus():
        data = path.read_bytes()
        if not is_addressed(data):
            continue
        before, after = canon_xml(data), canon_xml(addressed_to_receivers(data))
        assert before.head == after.head and before.typed == after.typed
        kept = [t for t in before.ordered if t[0][0] != "detail/marti"]
        assert kept == [t for t in after.ordered if t[0][0] != "detail/marti"], path.name
        assert from_event(addressed_to_receivers(data)).startswith(b"<event")


def test_which_corpus_messages_are_addressed() -> None:
    names = {p.name for p in require_corpus() if is_addressed(p.read_bytes())}
    assert "freetaktest__b-m-p-w-GOTO__waypoint-mission-dest.xml" in names  # callsign + mission
    assert "takserver-test__b-t-f__chat-to-mission-dest.xml" in names  # mission only
    assert "cotshrink__b-t-f__p2p-chat.xml" in names  # a chat to one callsign, no <marti>
    assert "fts-docs__a-f-G-U-C__sa-atak-3.12.xml" not in names
    assert "meshtastic__b-t-f__itak-all-chat-via-takserver.xml" not in names

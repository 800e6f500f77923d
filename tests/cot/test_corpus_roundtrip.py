"""Every real message in ../shared/interop/cot-corpus/ is accepted and survives every wire.

XML in -> XML out (as relayed, re-marked and re-rendered), XML in -> TAK protocol
v1 out (read back with takproto's own classes), that protobuf -> XML out, and
protobuf made by the real takproto encoder -> XML out. Each comparison is element
by element (tests/support/interop.py), so a lost attribute or text names itself.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import takproto
from lxml import etree  # type: ignore[import-untyped, unused-ignore]
from takproto.proto import TakMessage

from allied_c2.cot.event import CotEvent, WireFormat
from allied_c2.cot.framing import ProtoFrame, StreamFramer, XmlFrame, parse_datagram
from allied_c2.cot.protocodec import parse_proto
from allied_c2.cot.xmlcodec import parse_xml, serialize_xml
from tests.support.interop import (
    CORPUS,
    TYPED,
    canon_message,
    canon_xml,
    corpus_params,
    differences,
    fits_typed,
    from_event,
    parse_event,
    require,
    require_corpus,
)

FIELDS = {"__group": "group", "precisionlocation": "precisionLocation"}


def _decoded(wire: bytes) -> CotEvent:
    """``wire`` (TAK protocol v1 stream framing) through our framer and decoder."""
    framer = StreamFramer()
    framer.switch_to(WireFormat.PROTO)
    framer.receive_data(wire)
    frame = framer.next_frame()
    assert isinstance(frame, ProtoFrame), frame
    event = parse_proto(frame.payload)
    assert event is not None
    return event


def _typed_problems(data: bytes, message: Any) -> list[str]:
    """Typed fields not filled for an element that fits them, or filled for one that does not."""
    detail = parse_event(data).find("detail")
    children = [] if detail is None else [c for c in detail if isinstance(c.tag, str)]
    proto_detail = message.cotEvent.detail
    xml_detail = etree.fromstring(f"<detail>{proto_detail.xmlDetail}</detail>".encode())
    in_xml = Counter(c.tag for c in xml_detail)
    problems: list[str] = []
    for tag in TYPED:
        elements = [c for c in children if c.tag == tag]
        fits = any(fits_typed(c) for c in elements)
        if proto_detail.HasField(FIELDS.get(tag, tag)) != fits:
            problems.append(f"<{tag}> fits its typed message: {fits}, but typed is not so")
        if in_xml[tag] != len(elements) - fits:
            problems.append(f"<{tag}>: {in_xml[tag]} in xmlDetail, expected {len(elements) - fits}")
    return problems


@pytest.mark.parametrize("path", corpus_params())
def test_xml_in_xml_out(path: Path) -> None:
    data = path.read_bytes()
    event = parse_xml(data)
    original = canon_xml(data)
    assert differences(original, canon_xml(event.xml_wire)) == []
    # A changed event is re-rendered from the model: that loses nothing either.
    assert differences(original, canon_xml(serialize_xml(event))) == []
    if event.access is None:
        # What the relay does to an unmarked event: the marking is written into the bytes.
        stamped = event.with_marking("UNCLASSIFIED", None, None)
        assert stamped.xml_wire != event.xml_wire
        assert differences(original, canon_xml(stamped.xml_wire), marking=False) == []
        assert canon_xml(stamped.xml_wire).marking == ("UNCLASSIFIED", None, None)


@pytest.mark.parametrize("path", corpus_params())
def test_xml_in_protobuf_out_and_back(path: Path) -> None:
    data = path.read_bytes()
    event = parse_xml(data)
    original = canon_xml(data)
    # Read with takproto's classes, not ours: what a TAK client decodes.
    message = TakMessage.FromString(event.proto_payload)
    assert differences(original, canon_message(message)) == []
    assert _typed_problems(data, message) == []
    back = _decoded(event.proto_wire)
    assert differences(original, canon_xml(back.xml_wire)) == []
    assert back.proto_payload == event.proto_payload  # relayed unchanged


@pytest.mark.parametrize("path", corpus_params())
def test_takproto_encoded_in_xml_out(path: Path) -> None:
    wire = bytes(takproto.xml2proto(from_event(path.read_bytes()), takproto.TAKProtoVer.STREAM))
    # The reference is what takproto put in the message (its encoder drops some
    # attributes of typed elements itself); all of that must reach XML.
    sent = canon_message(takproto.parse_proto(bytearray(wire)))
    event = _decoded(wire)
    assert differences(sent, canon_xml(event.xml_wire)) == []
    assert differences(sent, canon_message(TakMessage.FromString(event.proto_payload))) == []


def test_whole_corpus_counts() -> None:
    files = require_corpus()
    accepted = lossless_xml = lossless_proto = typed = 0
    for path in files:
        data = path.read_bytes()
        event = parse_xml(data)
        accepted += 1
        original = canon_xml(data)
        lossless_xml += not differences(original, canon_xml(event.xml_wire))
        message = TakMessage.FromString(event.proto_payload)
        back = parse_proto(event.proto_payload)
        assert back is not None
        lossless_proto += not (
            differences(original, canon_message(message))
            or differences(original, canon_xml(back.xml_wire))
        )
        detail = message.cotEvent.detail
        typed += sum(detail.HasField(FIELDS.get(tag, tag)) for tag in TYPED)
    print(
        f"\ncorpus: {len(files)} messages, {accepted} accepted, {lossless_xml} lossless in XML,"
        f" {lossless_proto} lossless in protobuf, {typed} typed protobuf fields filled"
    )
    assert len(files) == 78
    assert accepted == lossless_xml == lossless_proto == 78
    assert typed > 0


def test_the_whole_corpus_as_one_stream_frames_into_every_message() -> None:
    files = require_corpus()
    framer = StreamFramer()
    framer.receive_data(b"".join(path.read_bytes() for path in files))
    frames = []
    while (frame := framer.next_frame()) is not None:
        assert isinstance(frame, XmlFrame), frame
        frames.append(parse_xml(frame.data).uid)
    assert frames == [parse_event(path.read_bytes()).get("uid") for path in files]


@pytest.mark.parametrize("framing", ["mesh", "stream"])
def test_takproto_reference_binaries(framing: str) -> None:
    folder = require(CORPUS / "protobuf")
    data = (folder / f"takproto__v1-{framing}__a-f-G-E-V-C__wintak-sa.bin").read_bytes()
    if framing == "mesh":
        frame = parse_datagram(data)
        assert isinstance(frame, ProtoFrame)
        event = parse_proto(frame.payload)
        assert event is not None
    else:
        event = _decoded(data)
    sent = canon_message(takproto.parse_proto(bytearray(data)))
    assert differences(sent, canon_xml(event.xml_wire)) == []
    # The element takproto's authors added lands in xmlDetail and comes out as XML.
    assert b'<another test="1"/>' in event.xml_wire
    source = parse_event((folder / "takproto__input__a-f-G-E-V-C__wintak-sa.xml").read_bytes())
    assert event.uid == source.get("uid")
    assert event.callsign == source.find("detail/contact").get("callsign")

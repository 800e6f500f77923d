"""The per-client session as a state machine: bytes in, session events out, no sockets."""

from __future__ import annotations

from datetime import UTC, datetime

import takproto
from hypothesis import given, settings
from hypothesis import strategies as st

from allied_c2.cot.event import WireFormat
from allied_c2.server.session import (
    ClientSession,
    Close,
    Consumed,
    Pinged,
    Received,
    Refused,
    Reply,
    SessionEvent,
)
from tests.support.cot import ping, pli

NOW = datetime(2026, 11, 26, 7, 0, tzinfo=UTC)

TAKP_Q = (
    b'<event version="2.0" uid="c" type="t-x-takp-q" how="m-g" time="2026-11-26T07:00:00Z" '
    b'start="2026-11-26T07:00:00Z" stale="2026-11-26T07:01:00Z"><point lat="0" lon="0" '
    b'hae="0" ce="0" le="0"/><detail><TakControl><TakRequest version="1"/></TakControl>'
    b"</detail></event>"
)


def proto_stream(xml: bytes) -> bytes:
    body = xml.split(b"?>", 1)[1] if xml.startswith(b"<?xml") else xml
    return bytes(takproto.xml2proto(body, takproto.TAKProtoVer.STREAM))


def kinds(items: list[SessionEvent]) -> list[str]:
    return [type(item).__name__ for item in items]


def test_opening_offers_tak_protocol_once() -> None:
    session = ClientSession()
    opening = session.opening(NOW)
    assert len(opening) == 1 and isinstance(opening[0], Reply)
    assert opening[0].event.type == "t-x-takp-v"
    assert session.opening(NOW) == []


def test_opening_can_be_switched_off() -> None:
    assert ClientSession(offer_protocol=False).opening(NOW) == []


def test_events_split_across_reads_come_out_whole() -> None:
    session = ClientSession()
    data = pli("a", "ALPHA") + pli("b", "BRAVO")
    out: list[SessionEvent] = []
    for i in range(0, len(data), 7):
        out += session.receive_data(data[i : i + 7], NOW)
    assert [item.event.uid for item in out if isinstance(item, Received)] == ["a", "b"]


def test_ping_is_answered_and_not_passed_on() -> None:
    out = ClientSession().receive_data(ping("me"), NOW)
    assert kinds(out) == ["Reply", "Pinged"]
    reply = out[0]
    assert isinstance(reply, Reply) and reply.event.type == "t-x-c-t-r"


def test_negotiation_switches_both_ways_in_the_middle_of_a_read() -> None:
    session = ClientSession()
    session.opening(NOW)
    # The request and the first protobuf event arrive in one read.
    out = session.receive_data(TAKP_Q + proto_stream(pli("p", "PAPA")), NOW)
    assert kinds(out) == ["Reply", "Consumed", "Received"]
    reply = out[0]
    assert isinstance(reply, Reply) and reply.event.type == "t-x-takp-r"
    assert b'status="true"' in reply.event.xml_wire
    received = out[2]
    assert isinstance(received, Received) and received.event.callsign == "PAPA"
    assert session.output_format is WireFormat.PROTO
    assert session.input_format is WireFormat.PROTO


def test_a_client_opening_in_protobuf_is_read_as_protobuf_and_answered_in_xml() -> None:
    session = ClientSession()
    out = session.receive_data(proto_stream(pli("p", "PAPA")), NOW)
    assert kinds(out) == ["Received"]
    assert session.input_format is WireFormat.PROTO
    assert session.output_format is WireFormat.XML  # nothing was negotiated


def test_unusable_frames_are_refused_then_the_client_is_closed() -> None:
    session = ClientSession(garbage_threshold=3)
    bad = b'<event uid="x"><point/></event>'
    out: list[SessionEvent] = []
    for _ in range(3):
        out += session.receive_data(bad, NOW)
    assert kinds(out) == ["Refused", "Refused", "Refused", "Close"]
    close = out[-1]
    assert isinstance(close, Close) and close.reason == "garbage"
    assert session.receive_data(pli("a", "A"), NOW) == []  # closed sessions take nothing


def test_a_good_event_resets_the_garbage_count() -> None:
    session = ClientSession(garbage_threshold=2)
    bad = b'<event uid="x"><point/></event>'
    out = session.receive_data(bad + pli("a", "A") + bad + pli("b", "B"), NOW)
    assert kinds(out) == ["Refused", "Received", "Refused", "Received"]


def test_an_oversized_event_closes_the_session() -> None:
    session = ClientSession(max_event_bytes=1000)
    out = session.receive_data(b'<event uid="big">' + b"x" * 2000, NOW)
    assert isinstance(out[-1], Close) and out[-1].reason == "too_large"


def test_control_types_are_consumed() -> None:
    control = pli("c", "C").replace(b'type="a-f-G-U-C"', b'type="t-x-c-m"')
    out = ClientSession().receive_data(control, NOW)
    assert len(out) == 1 and isinstance(out[0], Consumed) and out[0].type == "t-x-c-m"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=400), min_size=1, max_size=30))
def test_any_chunking_of_a_mixed_stream_gives_the_same_session_events(cuts: list[int]) -> None:
    stream = (
        pli("a", "A")
        + ping("a")
        + TAKP_Q
        + proto_stream(pli("b", "B"))
        + proto_stream(pli("c", "C"))
    )
    whole = ClientSession().receive_data(stream, NOW)
    session = ClientSession()
    pieces: list[SessionEvent] = []
    position = 0
    for cut in cuts:
        pieces += session.receive_data(stream[position : position + cut], NOW)
        position += cut
    pieces += session.receive_data(stream[position:], NOW)
    assert kinds(pieces) == kinds(whole)
    received = [p.event.uid for p in pieces if isinstance(p, Received)]
    assert received == ["a", "b", "c"]
    assert not [p for p in pieces if isinstance(p, Refused | Close)]
    assert sum(isinstance(p, Pinged) for p in pieces) == 1

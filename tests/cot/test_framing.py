from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from allied_c2.cot.event import WireFormat, encode_varint
from allied_c2.cot.framing import (
    FramingError,
    ProtoFrame,
    StreamFramer,
    XmlFrame,
    decode_varint,
    parse_datagram,
)

from .samples import ATAK_PLI, GEOCHAT, ITAK_DIRECT, event_xml

DECL = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
PLI_BODY = ATAK_PLI[ATAK_PLI.index(b"<event") :]
EVENTS = [PLI_BODY, GEOCHAT, ITAK_DIRECT, event_xml("U-2")]


def drain(framer: StreamFramer) -> list[XmlFrame | ProtoFrame | FramingError]:
    out: list[XmlFrame | ProtoFrame | FramingError] = []
    while (frame := framer.next_frame()) is not None:
        out.append(frame)
    return out


def feed_in_chunks(framer: StreamFramer, stream: bytes, cuts: list[int]) -> list[object]:
    frames: list[object] = []
    last = 0
    for cut in [*sorted(set(cuts)), len(stream)]:
        framer.receive_data(stream[last:cut])
        frames.extend(drain(framer))
        last = cut
    return frames


def proto_frame(payload: bytes) -> bytes:
    return b"\xbf" + encode_varint(len(payload)) + payload


xml_streams = st.lists(
    st.tuples(
        st.sampled_from(EVENTS), st.sampled_from([b"", b"\n", DECL, b"  \r\n", DECL + b"\n"])
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=150, deadline=None)
@given(parts=xml_streams, data=st.data())
def test_xml_stream_any_chunking(parts: list[tuple[bytes, bytes]], data: st.DataObject) -> None:
    stream = b"".join(prefix + event for event, prefix in parts)
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=20))
    frames = feed_in_chunks(StreamFramer(), stream, cuts)
    assert frames == [XmlFrame(event) for event, _ in parts]


@settings(max_examples=150, deadline=None)
@given(payloads=st.lists(st.binary(max_size=400), min_size=1, max_size=8), data=st.data())
def test_proto_stream_any_chunking(payloads: list[bytes], data: st.DataObject) -> None:
    stream = b"".join(proto_frame(p) for p in payloads)
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=20))
    framer = StreamFramer()
    framer.switch_to(WireFormat.PROTO)
    assert feed_in_chunks(framer, stream, cuts) == [ProtoFrame(p) for p in payloads]


@settings(max_examples=100, deadline=None)
@given(
    before=st.lists(st.sampled_from(EVENTS), min_size=1, max_size=3),
    after=st.lists(st.binary(min_size=1, max_size=300), min_size=1, max_size=4),
    data=st.data(),
)
def test_xml_then_switch_to_proto(
    before: list[bytes], after: list[bytes], data: st.DataObject
) -> None:
    # The client's last XML event is its t-x-takp-q; protobuf follows at once,
    # possibly in the same TCP segment.
    xml_part = b"".join(DECL + e for e in before)
    stream = xml_part + b"".join(proto_frame(p) for p in after)
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=12))
    framer = StreamFramer()
    frames: list[object] = []
    last = 0
    for cut in [*sorted(set(cuts)), len(stream)]:
        framer.receive_data(stream[last:cut])
        last = cut
        while (frame := framer.next_frame()) is not None:
            frames.append(frame)
            if len(frames) == len(before):
                framer.switch_to(WireFormat.PROTO)
    assert frames == [XmlFrame(e) for e in before] + [ProtoFrame(p) for p in after]


def test_declarations_and_whitespace_between_events_are_skipped() -> None:
    framer = StreamFramer()
    framer.receive_data(DECL + GEOCHAT + b"\n\n" + DECL + DECL + ITAK_DIRECT + b"\r\n")
    assert drain(framer) == [XmlFrame(GEOCHAT), XmlFrame(ITAK_DIRECT)]
    assert framer.buffered == 0


def test_event_ends_right_after_close_tag_and_rest_waits() -> None:
    framer = StreamFramer()
    framer.receive_data(GEOCHAT + ITAK_DIRECT[:50])
    assert drain(framer) == [XmlFrame(GEOCHAT)]
    assert framer.buffered == 50
    framer.receive_data(ITAK_DIRECT[50:])
    assert drain(framer) == [XmlFrame(ITAK_DIRECT)]


def test_unfinished_event_over_limit_is_fatal_without_buffering_more() -> None:
    framer = StreamFramer(max_event_bytes=1000)
    framer.receive_data(b'<event uid="x">' + b"<detail>")
    assert framer.next_frame() is None
    framer.receive_data(b"a" * 1200)
    frame = framer.next_frame()
    assert isinstance(frame, FramingError)
    assert (frame.reason, frame.fatal) == ("too_large", True)
    assert framer.buffered == 0
    framer.receive_data(GEOCHAT)
    assert framer.next_frame() is None  # closed for good


def test_complete_event_over_limit_is_fatal() -> None:
    framer = StreamFramer(max_event_bytes=len(GEOCHAT) - 1)
    framer.receive_data(GEOCHAT)
    frame = framer.next_frame()
    assert isinstance(frame, FramingError) and frame.fatal and frame.reason == "too_large"


def test_event_exactly_at_limit_passes() -> None:
    framer = StreamFramer(max_event_bytes=len(GEOCHAT))
    framer.receive_data(GEOCHAT)
    assert framer.next_frame() == XmlFrame(GEOCHAT)


def test_garbage_before_event_is_skipped_once() -> None:
    framer = StreamFramer()
    framer.receive_data(b"hello there\x00\xff<notcot/>" + GEOCHAT)
    frames = drain(framer)
    assert len(frames) == 2
    error = frames[0]
    assert isinstance(error, FramingError)
    assert (error.reason, error.fatal) == ("garbage", False)
    assert frames[1] == XmlFrame(GEOCHAT)


def test_garbage_only_is_dropped_and_buffer_stays_small() -> None:
    framer = StreamFramer(max_event_bytes=1000)
    errors = 0
    for _ in range(100):
        framer.receive_data(b"x" * 997 + b"<ev")
        for frame in drain(framer):
            assert isinstance(frame, FramingError) and not frame.fatal
            errors += 1
        assert framer.buffered <= 5
    assert errors >= 100
    framer.receive_data(b"ent" + GEOCHAT[6:])  # the kept "<ev" was a real start after all
    assert drain(framer) == [XmlFrame(GEOCHAT)]


def test_partial_event_open_tag_waits() -> None:
    framer = StreamFramer()
    framer.receive_data(b"\n<eve")
    assert framer.next_frame() is None
    framer.receive_data(GEOCHAT[4:])
    assert framer.next_frame() == XmlFrame(GEOCHAT)


def test_close_tag_search_resumes_where_it_stopped() -> None:
    # Each read only searches the new bytes (plus 7 for a split "</event>"),
    # so a large event arriving in small pieces costs linear time, not quadratic.
    body = b'<event uid="big"><detail><remarks>' + b"r" * (512 * 1024) + b"</remarks></detail>"
    framer = StreamFramer(max_event_bytes=1 << 20)
    for i in range(0, len(body), 1024):
        framer.receive_data(body[i : i + 1024])
        assert framer.next_frame() is None
        assert framer._scan == len(framer._buf) - len(b"</event>") + 1
    framer.receive_data(b"</event>")
    frame = framer.next_frame()
    assert isinstance(frame, XmlFrame) and frame.data == body + b"</event>"


def test_close_tag_split_across_reads() -> None:
    framer = StreamFramer()
    for i in range(1, 8):
        framer = StreamFramer()
        framer.receive_data(GEOCHAT[: len(GEOCHAT) - i])
        assert framer.next_frame() is None
        framer.receive_data(GEOCHAT[len(GEOCHAT) - i :])
        assert framer.next_frame() == XmlFrame(GEOCHAT)


def test_proto_bad_magic_resyncs_to_next_marker() -> None:
    framer = StreamFramer()
    framer.switch_to(WireFormat.PROTO)
    framer.receive_data(b"\x01\x02garbage" + proto_frame(b"\x12\x00") + proto_frame(b""))
    frames = drain(framer)
    assert isinstance(frames[0], FramingError)
    assert (frames[0].reason, frames[0].fatal) == ("bad_magic", False)
    assert frames[1:] == [ProtoFrame(b"\x12\x00"), ProtoFrame(b"")]


def test_proto_declared_length_over_limit_is_fatal() -> None:
    framer = StreamFramer(max_event_bytes=100)
    framer.switch_to(WireFormat.PROTO)
    framer.receive_data(b"\xbf" + encode_varint(101))
    frame = framer.next_frame()
    assert isinstance(frame, FramingError)
    assert (frame.reason, frame.fatal) == ("too_large", True)


def test_proto_varint_longer_than_ten_bytes_is_fatal() -> None:
    framer = StreamFramer()
    framer.switch_to(WireFormat.PROTO)
    framer.receive_data(b"\xbf" + b"\x80" * 10 + b"\x01")
    frame = framer.next_frame()
    assert isinstance(frame, FramingError) and frame.fatal and frame.reason == "bad_length"


def test_proto_incomplete_varint_waits() -> None:
    framer = StreamFramer()
    framer.switch_to(WireFormat.PROTO)
    payload = b"p" * 300  # two-byte varint
    wire = proto_frame(payload)
    framer.receive_data(wire[:2])
    assert framer.next_frame() is None
    framer.receive_data(wire[2:])
    assert framer.next_frame() == ProtoFrame(payload)


@given(st.integers(0, 2**64 - 1))
def test_varint_round_trip(value: int) -> None:
    encoded = encode_varint(value)
    assert len(encoded) <= 10
    assert decode_varint(encoded, 0) == (value, len(encoded))
    assert decode_varint(encoded[:-1], 0) is None


def test_varint_edges() -> None:
    assert encode_varint(0) == b"\x00"
    assert encode_varint(127) == b"\x7f"
    assert encode_varint(128) == b"\x80\x01"
    assert decode_varint(b"\xff" * 9 + b"\x01", 0) == (2**64 - 1, 10)
    # A redundant zero continuation is still a valid varint.
    assert decode_varint(b"\x80\x00", 0) == (0, 2)


def test_datagrams() -> None:
    assert parse_datagram(DECL + GEOCHAT + b"\n") == XmlFrame(GEOCHAT)
    assert parse_datagram(b"\xbf\x01\xbf\x12\x00") == ProtoFrame(b"\x12\x00")
    unsupported = parse_datagram(b"\xbf\x02\xbf\x12\x00")
    assert isinstance(unsupported, FramingError) and unsupported.reason == "unsupported_version"
    garbage = parse_datagram(b"GET / HTTP/1.1\r\n")
    assert isinstance(garbage, FramingError) and garbage.reason == "garbage"
    too_big = parse_datagram(GEOCHAT, max_event_bytes=10)
    assert isinstance(too_big, FramingError) and too_big.reason == "too_large"
    assert not too_big.fatal

from __future__ import annotations

import importlib
from datetime import UTC, datetime

import pytest
import takproto

from allied_c2.cot.errors import CotError
from allied_c2.cot.event import WireFormat, encode_varint
from allied_c2.cot.framing import ProtoFrame, StreamFramer, parse_datagram
from allied_c2.cot.proto import takmessage_pb2
from allied_c2.cot.protocodec import event_to_proto, parse_proto
from allied_c2.cot.xmlcodec import parse_xml

from .samples import ATAK_PLI, GEOCHAT, ITAK_DIRECT, PLI_UID

SAMPLES = [ATAK_PLI, GEOCHAT, ITAK_DIRECT]


def same_event(a: object, b: object) -> None:
    fields = [
        "uid",
        "type",
        "how",
        "time",
        "start",
        "stale",
        "lat",
        "lon",
        "hae",
        "ce",
        "le",
        "access",
        "caveat",
        "releasable_to",
        "callsign",
        "endpoint",
        "group_name",
        "group_role",
        "dest_callsigns",
        "dest_uids",
        "dest_missions",
        "dest_groups",
        "chat",
        "link_uids",
        "course",
        "speed",
        "remarks",
    ]
    assert {f: getattr(a, f) for f in fields} == {f: getattr(b, f) for f in fields}


MODULES = [
    "takmessage",
    "cotevent",
    "detail",
    "contact",
    "group",
    "precisionlocation",
    "status",
    "takv",
    "track",
    "takcontrol",
]


@pytest.mark.parametrize("module", MODULES)
def test_messages_match_takproto_field_for_field(module: str) -> None:
    ours = importlib.import_module(f"allied_c2.cot.proto.{module}_pb2").DESCRIPTOR
    theirs = importlib.import_module(f"takproto.proto.{module}_pb2").DESCRIPTOR
    assert set(ours.message_types_by_name) == set(theirs.message_types_by_name)
    for name, their_message in theirs.message_types_by_name.items():
        our_fields = {f.name: (f.number, f.type) for f in ours.message_types_by_name[name].fields}
        for field in their_message.fields:
            assert our_fields.pop(field.name) == (field.number, field.type), (name, field.name)
        extra = {"caveat": (16, 9), "releasableTo": (17, 9)} if name == "CotEvent" else {}
        assert our_fields == extra


@pytest.mark.parametrize("sample", SAMPLES)
def test_xml_proto_xml_round_trip(sample: bytes) -> None:
    event = parse_xml(sample).with_marking("SECRET", "REL TO", "USA JPN")
    back = parse_proto(event_to_proto(event))
    assert back is not None
    same_event(back, event)
    again = parse_xml(back.xml_wire)
    same_event(again, event)


def test_pli_typed_fields_and_xml_detail() -> None:
    message = parse_xml(ATAK_PLI).proto_message()
    detail = message.cotEvent.detail
    assert detail.contact.callsign == "ANDREW" and detail.contact.endpoint == "*:-1:stcp"
    assert (detail.group.name, detail.group.role) == ("Cyan", "Team Member")
    assert detail.precisionLocation.geopointsrc == "GPS"
    assert detail.status.battery == 78
    assert detail.takv.platform == "ATAK-CIV"
    assert (detail.track.course, detail.track.speed) == (123.4, 1.2)
    # Only what has no typed message stays XML, and nothing typed is repeated there.
    assert detail.xmlDetail == '<uid Droid="ANDREW"/>'
    assert message.cotEvent.sendTime == 1795676400123


def test_elements_a_typed_message_cannot_hold_stay_in_xml_detail() -> None:
    data = ATAK_PLI.replace(
        b'<contact endpoint="*:-1:stcp" callsign="ANDREW"/>',
        b'<contact endpoint="*:-1:stcp" phone="" callsign="ANDREW"/>',
    ).replace(b'<status battery="78"/>', b'<status battery="78" readiness="true"/>')
    event = parse_xml(data)
    detail = event.proto_message().cotEvent.detail
    assert not detail.HasField("contact") and not detail.HasField("status")
    assert 'phone=""' in detail.xmlDetail and 'readiness="true"' in detail.xmlDetail
    back = parse_proto(event.proto_payload)
    assert back is not None
    same_event(back, event)
    assert b'phone=""' in back.xml_wire and b'readiness="true"' in back.xml_wire


def test_marking_travels_in_fields_2_16_17() -> None:
    event = parse_xml(ITAK_DIRECT)
    message = takmessage_pb2.TakMessage.FromString(event.proto_payload)
    assert message.cotEvent.access == "SECRET"
    assert message.cotEvent.caveat == "REL TO"
    assert message.cotEvent.releasableTo == "USA JPN"
    assert b"\x82\x01\x06REL TO" in event.proto_payload  # field 16, length-delimited
    assert b"\x8a\x01\x07USA JPN" in event.proto_payload  # field 17


@pytest.mark.parametrize("sample", SAMPLES)
def test_takproto_stream_bytes_parse_with_ours(sample: bytes) -> None:
    wire = bytes(takproto.xml2proto(sample.decode(), takproto.TAKProtoVer.STREAM))
    framer = StreamFramer()
    framer.switch_to(WireFormat.PROTO)
    framer.receive_data(wire)
    frame = framer.next_frame()
    assert isinstance(frame, ProtoFrame)
    event = parse_proto(frame.payload)
    assert event is not None
    expected = parse_xml(sample)
    # takproto drops the marking extension fields and caveat/releasableTo.
    fields = "uid type how time start stale lat lon callsign chat dest_callsigns remarks"
    for name in fields.split():
        assert getattr(event, name) == getattr(expected, name), name


def test_takproto_mesh_datagram_parses_with_ours() -> None:
    wire = bytes(takproto.xml2proto(ATAK_PLI.decode(), takproto.TAKProtoVer.MESH))
    frame = parse_datagram(wire)
    assert isinstance(frame, ProtoFrame)
    event = parse_proto(frame.payload)
    assert event is not None and event.callsign == "ANDREW" and event.uid == PLI_UID


@pytest.mark.parametrize("sample", SAMPLES)
def test_our_stream_bytes_parse_with_takproto(sample: bytes) -> None:
    event = parse_xml(sample).with_marking("SECRET", "REL TO", "USA JPN")
    message = takproto.parse_proto(bytearray(event.proto_wire))
    assert message.cotEvent.uid == event.uid
    assert message.cotEvent.type == event.type
    assert message.cotEvent.access == "SECRET"
    assert message.cotEvent.lat == event.lat and message.cotEvent.lon == event.lon
    assert message.cotEvent.staleTime == int(event.stale.timestamp() * 1000)
    mesh = takproto.parse_proto(bytearray(event.mesh_wire))
    assert mesh.cotEvent.uid == event.uid


def test_unchanged_proto_event_relays_its_payload() -> None:
    payload = event_to_proto(parse_xml(GEOCHAT))
    event = parse_proto(payload)
    assert event is not None
    assert event.proto_payload is payload
    assert event.proto_wire == b"\xbf" + encode_varint(len(payload)) + payload


def test_takcontrol_only_message_carries_no_event() -> None:
    message = takmessage_pb2.TakMessage()
    message.takControl.minProtoVersion = 1
    message.takControl.maxProtoVersion = 1
    assert parse_proto(message.SerializeToString()) is None
    assert parse_proto(b"") is None


@pytest.mark.parametrize(
    "payload",
    [b"\xff\xff\xff", b"\x12\x05abc", b"\x12\x02\x0a\xff", b"\x0a\x80"],
)
def test_bad_protobuf_is_malformed(payload: bytes) -> None:
    with pytest.raises(CotError) as info:
        parse_proto(payload)
    assert info.value.reason == "malformed_proto"


def make_message(**fields: object) -> bytes:
    message = takmessage_pb2.TakMessage()
    cot = message.cotEvent
    cot.uid = "P-1"
    cot.type = "a-f-G"
    cot.how = "m-g"
    cot.sendTime = cot.startTime = 1795676400000
    cot.staleTime = 1795676460000
    cot.lat, cot.lon = 35.0, 139.0
    for key, value in fields.items():
        if key == "xmlDetail":
            cot.detail.xmlDetail = str(value)
        elif key == "callsign":
            cot.detail.contact.callsign = str(value)
        else:
            setattr(cot, key, value)
    data: bytes = message.SerializeToString()
    return data


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"lat": 91.0}, "bad_coordinates"),
        ({"lon": float("nan")}, "bad_coordinates"),
        ({"hae": float("inf")}, "bad_coordinates"),
        ({"sendTime": 2**63}, "bad_time"),
        ({"type": "not a type"}, "bad_type"),
        ({"uid": ""}, "missing_uid"),
        ({"how": "m\x01g"}, "malformed_proto"),
        ({"xmlDetail": "<remarks>unclosed"}, "malformed_proto"),
        ({"xmlDetail": "<remarks>&xxe;</remarks>"}, "malformed_proto"),
        ({"xmlDetail": '<!DOCTYPE x [<!ENTITY a "b">]>'}, "dtd_forbidden"),
        ({"callsign": "bad\x02callsign"}, "malformed_proto"),
    ],
)
def test_invalid_proto_events_are_refused(fields: dict[str, object], reason: str) -> None:
    with pytest.raises(CotError) as info:
        parse_proto(make_message(**fields))
    assert info.value.reason == reason


def test_stale_before_start_and_nan_accuracy_are_accepted() -> None:
    nan = float("nan")
    event = parse_proto(make_message(staleTime=1, hae=nan, ce=nan, le=nan))
    assert event is not None and event.stale < event.start
    assert (event.hae, event.ce, event.le) == (9999999.0, 9999999.0, 9999999.0)


@pytest.mark.parametrize(
    ("track", "typed"),
    [
        ('<track course="87.5" speed="0.0"/>', True),
        ('<track course="0" speed="0"/>', False),  # would come back as 0.0
        ('<track course="1.0E-4" speed="1.0"/>', False),  # Java's notation
        ('<track course="87.5"/>', False),  # would gain a speed
        ('<track course="87.5" speed="1.0" slope="0.0"/>', False),
    ],
)
def test_track_is_typed_only_when_it_comes_back_exactly(track: str, typed: bool) -> None:
    event = parse_xml(ATAK_PLI.replace(b'<track course="123.4" speed="1.2"/>', track.encode()))
    detail = event.proto_message().cotEvent.detail
    assert detail.HasField("track") is typed
    assert (track in detail.xmlDetail) is not typed
    back = parse_proto(event.proto_payload)
    assert back is not None and back.detail is not None
    assert dict(back.detail.find("track").attrib) == dict(event.detail.find("track").attrib)


def test_text_between_detail_elements_travels_in_xml_detail() -> None:
    data = ATAK_PLI.replace(b"<detail>", b"<detail>before &amp; ").replace(
        b'<status battery="78"/>', b'<status battery="78"/>after&#13;'
    )
    event = parse_xml(data)
    detail = event.proto_message().cotEvent.detail
    # An element followed by text is not typed: the text would have no place.
    assert not detail.HasField("status")
    assert detail.xmlDetail.startswith("before &amp; ")
    assert '<status battery="78"/>after&#13;' in detail.xmlDetail
    back = parse_proto(event.proto_payload)
    assert back is not None and back.detail is not None
    assert back.detail.text == "before & "
    assert back.detail.find("status").tail == "after\r"


def test_proto_times_are_milliseconds_utc() -> None:
    event = parse_proto(make_message())
    assert event is not None
    assert event.time == datetime(2026, 11, 26, 7, 0, tzinfo=UTC)
    assert event.stale == datetime(2026, 11, 26, 7, 1, tzinfo=UTC)
    assert event.detail is None
    assert b"<detail" not in event.xml_wire

from __future__ import annotations

from datetime import UTC, datetime

from lxml import etree  # type: ignore[import-untyped, unused-ignore]

from allied_c2.cot.detail import ChatInfo
from allied_c2.cot.xmlcodec import parse_xml, serialize_xml

from .samples import ATAK_PLI, GEOCHAT, ITAK_DIRECT, PLI_UID


def test_atak_pli_fields() -> None:
    event = parse_xml(ATAK_PLI)
    assert event.uid == PLI_UID
    assert event.type == "a-f-G-U-C"
    assert event.how == "h-e"
    assert event.time == datetime(2026, 11, 26, 7, 0, 0, 123000, tzinfo=UTC)
    assert event.stale == datetime(2026, 11, 26, 7, 6, 15, 123000, tzinfo=UTC)
    assert (event.lat, event.lon, event.hae, event.ce, event.le) == (
        35.6895,
        139.6917,
        40.2,
        9.9,
        9999999.0,
    )
    assert event.callsign == "ANDREW"
    assert event.endpoint == "*:-1:stcp"
    assert (event.group_name, event.group_role) == ("Cyan", "Team Member")
    assert (event.course, event.speed) == (123.4, 1.2)
    assert event.access is None and event.chat is None
    assert event.dest_callsigns == () and event.dest_uids == ()


def test_geochat_fields() -> None:
    event = parse_xml(GEOCHAT)
    assert event.type == "b-t-f"
    assert event.chat == ChatInfo(
        chatroom="BRAVO",
        id="BRAVO-UID",
        sender_callsign="ANDREW",
        parent="RootContactGroup",
        message_id="6a3f0b1e",
        chatgrp_uids=(PLI_UID, "BRAVO-UID"),
        chatgrp_id="BRAVO-UID",
    )
    assert event.link_uids == (PLI_UID,)
    assert event.remarks == "Meet at rally point & wait"
    assert event.dest_callsigns == ("BRAVO",)
    assert event.callsign is None


def test_itak_uid_mission_group_destinations_and_marking() -> None:
    event = parse_xml(ITAK_DIRECT)
    assert event.dest_uids == ("ITAK-UID-1",)
    assert event.dest_missions == ("hadr",)
    assert event.dest_groups == ("Cyan",)
    assert (event.access, event.caveat, event.releasable_to) == ("SECRET", "REL TO", "USA JPN")
    assert event.callsign == "Checkpoint 1"


def test_unchanged_event_relays_its_original_bytes_without_declaration() -> None:
    event = parse_xml(ATAK_PLI + b"\n")
    body = ATAK_PLI[ATAK_PLI.index(b"<event") :]
    assert event.xml_wire == body
    assert event.xml_wire is event.xml_wire  # computed once
    same = parse_xml(GEOCHAT)
    assert same.xml_wire is not None and same.xml_wire == GEOCHAT


def test_serialized_event_parses_back_to_the_same_fields() -> None:
    for sample in (ATAK_PLI, GEOCHAT, ITAK_DIRECT):
        original = parse_xml(sample)
        rendered = serialize_xml(original)
        assert not rendered.startswith(b"<?xml")
        again = parse_xml(rendered)
        assert again.to_dict() == original.to_dict()
        assert again.chat == original.chat
        assert again.dest_callsigns == original.dest_callsigns
        assert again.link_uids == original.link_uids
        assert etree.tostring(again.detail) == etree.tostring(original.detail)


def test_with_marking_makes_a_new_event_and_reserializes() -> None:
    event = parse_xml(GEOCHAT)
    before = event.xml_wire
    marked = event.with_marking("SECRET", "REL TO", "USA JPN")
    assert marked is not event
    assert event.xml_wire is before and event.access is None
    wire = marked.xml_wire
    assert b'access="SECRET"' in wire and b'releasableTo="USA JPN"' in wire
    again = parse_xml(wire)
    assert (again.access, again.caveat, again.releasable_to) == ("SECRET", "REL TO", "USA JPN")
    assert again.remarks == event.remarks
    # Re-marking with the same marking is free.
    assert marked.with_marking("SECRET", "REL TO", "USA JPN") is marked
    assert event.with_marking(None, "", None) is event


def test_attribute_values_are_escaped() -> None:
    event = parse_xml(ITAK_DIRECT).with_marking('A"<&>\n', None, None)
    again = parse_xml(event.xml_wire)
    assert again.access == 'A"<&>\n'


def test_to_dict_is_json_ready() -> None:
    item = parse_xml(ATAK_PLI).with_marking("SECRET", "REL TO", "USA JPN").to_dict()
    assert item == {
        "uid": PLI_UID,
        "type": "a-f-G-U-C",
        "how": "h-e",
        "time": "2026-11-26T07:00:00.123Z",
        "start": "2026-11-26T07:00:00.123Z",
        "stale": "2026-11-26T07:06:15.123Z",
        "lat": 35.6895,
        "lon": 139.6917,
        "hae": 40.2,
        "ce": 9.9,
        "le": 9999999.0,
        "callsign": "ANDREW",
        "group": {"name": "Cyan", "role": "Team Member"},
        "course": 123.4,
        "speed": 1.2,
        "remarks": None,
        "access": "SECRET",
        "caveat": "REL TO",
        "releasableTo": "USA JPN",
    }


def test_is_stale() -> None:
    event = parse_xml(ATAK_PLI)
    assert not event.is_stale(datetime(2026, 11, 26, 7, 6, tzinfo=UTC))
    assert event.is_stale(datetime(2026, 11, 26, 7, 7, tzinfo=UTC))


def test_offsets_are_converted_to_utc_and_naive_times_taken_as_utc() -> None:
    data = ITAK_DIRECT.replace(b'time="2026-11-26T07:02:00Z"', b'time="2026-11-26T16:02:00+09:00"')
    data = data.replace(b'start="2026-11-26T07:02:00Z"', b'start="2026-11-26T07:02:00"')
    event = parse_xml(data)
    assert event.time == event.start == datetime(2026, 11, 26, 7, 2, tzinfo=UTC)
    assert event.time.tzinfo is UTC


def test_missing_hae_ce_le_mean_unknown() -> None:
    data = (
        b'<event version="2.0" uid="x" type="a-h-G" how="m-g" time="2026-11-26T07:00:00Z"'
        b' start="2026-11-26T07:00:00Z" stale="2026-11-26T07:01:00Z">'
        b'<point lat="1" lon="2"/></event>'
    )
    event = parse_xml(data)
    assert (event.hae, event.ce, event.le) == (9999999.0,) * 3
    assert event.detail is None
    assert parse_xml(serialize_xml(event)).to_dict() == event.to_dict()


def test_evolve_resets_the_caches() -> None:
    event = parse_xml(GEOCHAT)
    assert event.proto_payload and event.xml_wire == GEOCHAT
    moved = event.evolve(lat=1.5, lon=2.5)
    assert b'lat="1.5" lon="2.5"' in moved.xml_wire
    assert moved.proto_message().cotEvent.lat == 1.5
    assert event.xml_wire == GEOCHAT and event.proto_message().cotEvent.lat == 35.6895


def test_parsing_from_many_threads() -> None:
    from concurrent.futures import ThreadPoolExecutor

    samples = [ATAK_PLI, GEOCHAT, ITAK_DIRECT] * 200
    with ThreadPoolExecutor(max_workers=8) as pool:
        uids = list(pool.map(lambda data: parse_xml(data).uid, samples))
    assert uids == [parse_xml(data).uid for data in samples]

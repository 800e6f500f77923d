"""Property: any valid event survives XML -> proto -> XML with what routing needs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from allied_c2.cot.event import CotEvent
from allied_c2.cot.protocodec import parse_proto
from allied_c2.cot.special import new_detail
from allied_c2.cot.xmlcodec import parse_xml, serialize_xml
from allied_c2.cot.xmltree import sub_element

xml_text = st.text(
    st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff")
    | st.sampled_from("\t\n\r&<>\"' "),
    min_size=1,
    max_size=40,
)
uids = st.text(
    st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff"),
    min_size=1,
    max_size=64,
)
times = st.datetimes(
    min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
).map(lambda t: t.replace(microsecond=t.microsecond // 1000 * 1000))
types = st.sampled_from(["a-f-G-U-C", "b-t-f", "b-m-p-s-p-i", "u-d-f", "a-h-A-M-F-Q"])
optional_text = st.none() | xml_text


@st.composite
def events(draw: st.DrawFn) -> CotEvent:
    start = draw(times)
    detail = new_detail()
    callsign = draw(optional_text)
    if callsign is not None:
        attrib = {"callsign": callsign}
        if draw(st.booleans()):
            attrib["endpoint"] = "*:-1:stcp"
        sub_element(detail, "contact", attrib)
    if draw(st.booleans()):
        sub_element(detail, "__group", {"name": draw(xml_text), "role": draw(xml_text)})
    if draw(st.booleans()):
        speed = draw(st.floats(0, 1000, allow_nan=False))
        course = draw(st.floats(0, 360, allow_nan=False))
        sub_element(detail, "track", {"speed": repr(speed), "course": repr(course)})
    dests = draw(st.lists(xml_text, max_size=3))
    if dests:
        marti = sub_element(detail, "marti", {})
        for dest in dests:
            sub_element(marti, "dest", {"callsign": dest})
    remarks = draw(optional_text)
    if remarks is not None:
        sub_element(detail, "remarks", {}).text = remarks
    return CotEvent.create(
        uid=draw(uids),
        type=draw(types),
        how=draw(st.sampled_from(["m-g", "h-e", "h-g-i-g-o", ""])),
        time=start,
        start=start,
        stale=start + timedelta(milliseconds=draw(st.integers(0, 10**9))),
        lat=draw(st.floats(-90, 90, allow_nan=False)),
        lon=draw(st.floats(-180, 180, allow_nan=False)),
        hae=draw(st.floats(-1e4, 1e7, allow_nan=False)),
        access=draw(optional_text),
        caveat=draw(optional_text),
        releasable_to=draw(optional_text),
        detail=detail,
    )


FIELDS = [
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
    "course",
    "speed",
    "remarks",
]


def view(event: CotEvent) -> dict[str, object]:
    return {name: getattr(event, name) for name in FIELDS}


@settings(max_examples=200, deadline=None)
@given(events())
def test_xml_and_proto_round_trips(event: CotEvent) -> None:
    from_xml = parse_xml(serialize_xml(event))
    assert view(from_xml) == view(event)
    from_proto = parse_proto(from_xml.proto_payload)
    assert from_proto is not None
    assert view(from_proto) == view(event)
    assert view(parse_xml(from_proto.xml_wire)) == view(event)

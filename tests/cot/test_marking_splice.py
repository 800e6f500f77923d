"""Stamping a marking into an unmarked event edits the received bytes, not a re-render."""

from __future__ import annotations

from allied_c2.cot.xmlcodec import parse_xml
from tests.support.cot import pli


def test_stamped_bytes_parse_back_to_the_same_event_with_the_marking() -> None:
    original = parse_xml(pli("u-1", "ALPHA", 35.5, 139.5))
    marked = original.with_marking("SECRET", "REL TO", "USA JPN")
    again = parse_xml(marked.xml_wire)
    assert (again.access, again.caveat, again.releasable_to) == ("SECRET", "REL TO", "USA JPN")
    assert (again.uid, again.callsign, again.lat, again.lon, again.stale) == (
        original.uid,
        original.callsign,
        original.lat,
        original.lon,
        original.stale,
    )
    assert marked.xml_wire.endswith(original.xml_wire[len(b"<event") :])


def test_values_are_escaped_and_absent_ones_left_out() -> None:
    marked = parse_xml(pli("u-2", "B")).with_marking('A&B"<', None, None)
    assert marked.xml_wire.startswith(b'<event access="A&amp;B&quot;&lt;" version=')
    assert parse_xml(marked.xml_wire).access == 'A&B"<'


def test_an_event_that_already_carries_part_of_a_marking_is_re_rendered() -> None:
    partial = pli("u-3", "C").replace(b"<event ", b'<event releasableTo="USA JPN" ', 1)
    marked = parse_xml(partial).with_marking("SECRET", "REL TO", "USA JPN")
    assert marked.xml_wire.count(b"releasableTo=") == 1
    assert parse_xml(marked.xml_wire).access == "SECRET"

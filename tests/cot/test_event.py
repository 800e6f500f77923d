"""CotEvent.create fills every field from its own argument or detail element."""

from __future__ import annotations

from datetime import timedelta

from allied_c2.cot.detail import ChatInfo
from allied_c2.cot.event import CotEvent
from tests.support.cot import EVERY_FIELD_TIME as T0
from tests.support.cot import every_field_event


def test_create_puts_every_value_in_its_own_field() -> None:
    event = every_field_event()
    assert (event.uid, event.type, event.how) == ("u-1", "a-f-G-U-C", "m-g")
    assert (event.time, event.start, event.stale) == (
        T0,
        T0 + timedelta(seconds=1),
        T0 + timedelta(minutes=5),
    )
    assert (event.lat, event.lon, event.hae, event.ce, event.le) == (35.5, 139.25, 12.5, 4.0, 6.0)
    assert (event.access, event.caveat, event.releasable_to) == ("SECRET", "REL TO", "USA JPN")
    assert (event.qos, event.opex) == ("1-r-c", "e-exercise")
    assert (event.callsign, event.endpoint) == ("ALPHA", "*:-1:stcp")
    assert (event.group_name, event.group_role) == ("Cyan", "Team Lead")
    assert (event.course, event.speed) == (90.5, 3.25)
    assert event.dest_callsigns == ("BRAVO",)
    assert event.dest_uids == ("u-2",)
    assert event.dest_missions == ("m-1",)
    assert event.dest_groups == ("g-1",)
    assert event.chat == ChatInfo(
        chatroom="Cyan",
        id="room-1",
        sender_callsign="ALPHA",
        parent="p",
        message_id="m",
        chatgrp_uids=("u-1", "u-2"),
        chatgrp_id="room-1",
    )
    assert event.link_uids == ("parent-1",)
    assert event.remarks == "on station"
    assert event.detail is not None and event.detail.tag == "detail"


def test_create_without_detail_leaves_detail_fields_empty() -> None:
    event = CotEvent.create(
        uid="u-1", type="a-f-G", how="", time=T0, start=T0, stale=T0, lat=0.0, lon=0.0
    )
    assert event.callsign is event.chat is event.course is event.detail is None
    assert event.dest_uids == event.link_uids == ()
    assert event.access is None  # blank markings are absent, not ""

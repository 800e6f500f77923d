from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from allied_c2.cot.protocodec import parse_proto
from allied_c2.cot.special import (
    disconnect_notice,
    is_chat,
    is_control,
    is_disconnect,
    is_ping,
    keeps_in_picture,
    pong,
)
from allied_c2.cot.xmlcodec import parse_xml

from .samples import event_xml

NOW = datetime(2026, 11, 26, 7, 0, tzinfo=UTC)

# type: (ping, control, chat, disconnect, picture)
TYPES = {
    "t-x-c-t": (True, True, False, False, False),
    "t-x-c-t-r": (False, True, False, False, False),
    "t-x-takp-v": (False, True, False, False, False),
    "t-x-takp-q": (False, True, False, False, False),
    "t-x-takp-r": (False, True, False, False, False),
    "t-b": (False, True, False, False, False),
    "t-b-a": (False, True, False, False, False),
    "t-x-d-d": (False, False, False, True, False),
    "b-t-f": (False, False, True, False, False),
    "b-t-f-d": (False, False, True, False, False),
    "b-t-f-r": (False, False, True, False, False),
    "a-f-G-U-C": (False, False, False, False, True),
    "a-h-A-M-F": (False, False, False, False, True),
    "b-m-p-s-p-i": (False, False, False, False, True),
    "b-m-p-w-GOTO": (False, False, False, False, True),
    "u-d-f": (False, False, False, False, True),
    "u-d-r": (False, False, False, False, True),
    "u-rb-a": (False, False, False, False, True),
    "b-r-f-h-c": (False, False, False, False, True),
    "b-a-o-tbl": (False, False, False, False, True),
    "b-a-o-can": (False, False, False, False, True),
    "b-t-f-x": (False, False, True, False, False),
    "u-rb": (False, False, False, False, False),
    "b-f-t-r": (False, False, False, False, False),
}


@pytest.mark.parametrize(("cot_type", "expected"), TYPES.items())
def test_classification(cot_type: str, expected: tuple[bool, ...]) -> None:
    event = parse_xml(event_xml(cot_type=cot_type))
    got = (
        is_ping(event),
        is_control(event),
        is_chat(event),
        is_disconnect(event),
        keeps_in_picture(event),
    )
    assert got == expected


def test_pong_answers_a_ping_in_both_formats() -> None:
    ping = parse_xml(event_xml("ANDROID-1-ping", "t-x-c-t"))
    answer = pong(NOW, ping)
    for decoded in (parse_xml(answer.xml_wire), parse_proto(answer.proto_payload)):
        assert decoded is not None
        assert (decoded.uid, decoded.type) == ("takPong", "t-x-c-t-r")
        assert decoded.time == NOW and decoded.stale > NOW
        assert decoded.link_uids == ("ANDROID-1-ping",)
    assert pong(NOW, None).link_uids == ()


def test_disconnect_notice_links_the_departed_client() -> None:
    notice = disconnect_notice("ANDROID-1", "ANDREW", NOW, notice_uid="n-1")
    for decoded in (parse_xml(notice.xml_wire), parse_proto(notice.proto_payload)):
        assert decoded is not None
        assert (decoded.uid, decoded.type) == ("n-1", "t-x-d-d")
        assert decoded.link_uids == ("ANDROID-1",)
        assert decoded.detail is not None
        (link,) = list(decoded.detail)
        assert dict(link.attrib) == {
            "uid": "ANDROID-1",
            "relation": "p-p",
            "type": "a-f-G-U-C",
            "parent_callsign": "ANDREW",
        }
        assert decoded.stale - decoded.start == timedelta(seconds=20)
    assert is_disconnect(notice) and not keeps_in_picture(notice)
    other = disconnect_notice("ANDROID-1", None, NOW)
    assert other.uid != disconnect_notice("ANDROID-1", None, NOW).uid

"""TAK channels: server-side groups on principals, in addition to the marking (issue 12).

The official rule (tak-server-api.md §5): a writer reaches a reader iff one
group has the writer IN and the reader OUT; an item carries its sender's IN
groups. Everyone is in ``__ANON__`` until groups are configured.
"""

from __future__ import annotations

import pytest

from allied_c2.cot.xmlcodec import parse_xml
from allied_c2.security.audience import NO_ORIGIN, Origin, Reader, may_receive
from allied_c2.security.decision import ReleaseCache
from allied_c2.security.groups import (
    DEFAULT_CHANNELS,
    Channels,
    GroupError,
    Membership,
    channels_of,
    parse_membership,
)
from allied_c2.security.policy import DEFAULT_POLICY
from allied_c2.security.principals import ANONYMOUS, Principal
from allied_c2.server.hub import Hub
from tests.server.test_hub import JPN, NOW, US, FlushingHub, join
from tests.support.cot import marker

RED_US = Principal("RED-1", "USA", "SECRET")
RED_US2 = Principal("RED-2", "USA", "SECRET")
BLUE_US = Principal("BLUE-1", "USA", "SECRET")
RED_JPN = Principal("RED-J", "JPN", "SECRET")
AUDITOR = Principal("WATCHER", "USA", "TOP SECRET", roles=frozenset({"auditor"}))


def grouped_hub(extra: dict[str, Channels] | None = None) -> Hub:
    hub = FlushingHub(DEFAULT_POLICY, DEFAULT_POLICY.default_marking)
    red = channels_of([Membership("Red")])
    blue = channels_of([Membership("Blue")])
    hub.set_channels(
        {"RED-1": red, "RED-2": red, "RED-J": red, "BLUE-1": blue, **(extra or {})}, NOW
    )
    return hub


def test_membership_text_and_defaults() -> None:
    assert parse_membership("Red") == Membership("Red", "both")
    assert parse_membership("Red:in") == Membership("Red", "in")
    assert parse_membership("HQ Staff:OUT") == Membership("HQ Staff", "out")
    with pytest.raises(GroupError):
        parse_membership("Red:sideways")
    with pytest.raises(GroupError):
        parse_membership(":in")
    assert channels_of([]) is DEFAULT_CHANNELS
    mixed = channels_of([Membership("A", "in"), Membership("B", "out")])
    assert mixed.writes == {"A"} and mixed.reads == {"B"}


def test_an_item_in_one_group_is_not_delivered_to_the_other() -> None:
    hub = grouped_hub()
    writer = join(hub, RED_US, "RED-1", uid="r1")
    red = join(hub, RED_US2, "RED-2", uid="r2")
    blue = join(hub, BLUE_US, "BLUE-1", uid="b1")
    anon = join(hub, ANONYMOUS, "anon")
    for peer in (writer, red, blue, anon):
        peer.sent.clear()
    hub.ingest(writer, RED_US, parse_xml(marker("m-red", 35.0, 139.0)), NOW)
    assert red.uids() == ["m-red"]
    assert blue.uids() == [] and anon.uids() == []
    # Every other exit agrees: catch-up, the HTTP picture, the web views.
    late_blue = join(hub, BLUE_US, "BLUE-late")
    assert hub.catch_up_item("m-red", late_blue, NOW) is None
    assert hub.catch_up_item("m-red", join(hub, RED_US2, "RED-late"), NOW) is not None
    assert "m-red" not in {e.event.uid for e in hub.releasable_picture(BLUE_US, NOW)}
    assert "m-red" not in {e.event.uid for e in hub.releasable_picture(ANONYMOUS, NOW)}
    assert "m-red" in {e.event.uid for e in hub.releasable_picture(RED_US2, NOW)}
    # The sender and an auditor still see it.
    assert "m-red" in {e.event.uid for e in hub.releasable_picture(RED_US, NOW)}
    assert "m-red" in {e.event.uid for e in hub.releasable_picture(AUDITOR, NOW)}


def test_a_group_never_widens_what_the_marking_allows() -> None:
    hub = grouped_hub()
    writer = join(hub, RED_US, "RED-1", uid="r1")
    red_jpn = join(hub, RED_JPN, "RED-J", uid="rj")
    red_us = join(hub, RED_US2, "RED-2", uid="r2")
    for peer in (writer, red_jpn, red_us):
        peer.sent.clear()
    noforn = marker("m-nf", 35.0, 139.0, marking=("SECRET", "NOFORN", None))
    hub.ingest(writer, RED_US, parse_xml(noforn), NOW)
    assert red_us.uids() == ["m-nf"]
    assert red_jpn.uids() == []
    assert "m-nf" not in {e.event.uid for e in hub.releasable_picture(RED_JPN, NOW)}
    addressed = marker("m-g", 35.0, 139.0, marking=("SECRET", "NOFORN", None)).replace(
        b"</detail>", b'<marti><dest group="Red"/></marti></detail>'
    )
    hub.ingest(writer, RED_US, parse_xml(addressed), NOW)
    assert "m-g" in red_us.uids() and "m-g" not in red_jpn.uids()


def test_in_and_out_directions() -> None:
    writes_only = channels_of([Membership("Red", "in")])
    reads_only = channels_of([Membership("Red", "out")])
    hub = grouped_hub({"EAGLE": writes_only, "SAKURA": reads_only})
    writer = join(hub, US, "EAGLE", uid="e1")  # IN Red: writes, does not read
    reader = join(hub, JPN, "SAKURA", uid="s1")  # OUT Red: reads, does not write
    red = join(hub, RED_US2, "RED-2", uid="r2")
    for peer in (writer, reader, red):
        peer.sent.clear()
    hub.ingest(writer, US, parse_xml(marker("from-in", 35.0, 139.0)), NOW)
    assert reader.uids() == ["from-in"] and red.uids() == ["from-in"]
    hub.ingest(reader, JPN, parse_xml(marker("from-out", 35.0, 139.0)), NOW)
    assert writer.uids() == [] and red.uids() == ["from-in"]
    hub.ingest(red, RED_US2, parse_xml(marker("from-red", 35.0, 139.0)), NOW)
    assert "from-red" in reader.uids() and "from-red" not in writer.uids()


def test_dest_group_reaches_that_groups_readers_only() -> None:
    both = channels_of([Membership("Red"), Membership("Blue")])
    hub = grouped_hub({"RED-1": both})
    writer = join(hub, RED_US, "RED-1", uid="r1")
    red = join(hub, RED_US2, "RED-2", uid="r2")
    blue = join(hub, BLUE_US, "BLUE-1", uid="b1")
    for peer in (writer, red, blue):
        peer.sent.clear()
    to_blue = marker("to-blue", 35.0, 139.0).replace(
        b"</detail>", b'<marti><dest group="Blue"/></marti></detail>'
    )
    hub.ingest(writer, RED_US, parse_xml(to_blue), NOW)
    assert blue.uids() == ["to-blue"] and red.uids() == []
    # A group the sender does not write to reaches nobody but the sender (and auditors).
    to_green = marker("to-green", 35.0, 139.0).replace(
        b"</detail>", b'<marti><dest group="Green"/></marti></detail>'
    )
    hub.ingest(writer, RED_US, parse_xml(to_green), NOW)
    assert "to-green" not in blue.uids() + red.uids()
    assert "to-green" in {e.event.uid for e in hub.releasable_picture(RED_US, NOW)}


def test_without_groups_nothing_changes_and_the_fast_path_stays() -> None:
    hub = FlushingHub(DEFAULT_POLICY, DEFAULT_POLICY.default_marking)
    assert not hub.identities.grouped
    a, b = join(hub, US, "A", uid="a"), join(hub, JPN, "B", uid="b")
    anon = join(hub, ANONYMOUS, "anon")
    hub.ingest(a, US, parse_xml(marker("m", 35.0, 139.0)), NOW)
    assert "m" in b.uids() and "m" in anon.uids()
    # dest group= on a server without groups reaches nobody but its sender, as before.
    cyan = marker("c", 35.0, 139.0).replace(
        b"</detail>", b'<marti><dest group="Cyan"/></marti></detail>'
    )
    hub.ingest(a, US, parse_xml(cyan), NOW)
    assert "c" not in b.uids() + anon.uids()
    assert hub.picture.get("m").origin is NO_ORIGIN


def test_t_x_g_c_after_a_membership_change_only() -> None:
    hub = grouped_hub()
    red = join(hub, RED_US2, "RED-2", uid="r2")
    blue = join(hub, BLUE_US, "BLUE-1", uid="b1")
    red.sent.clear()
    blue.sent.clear()
    hub.set_channels(
        {
            "RED-1": channels_of([Membership("Red")]),
            "RED-2": channels_of([Membership("Blue")]),  # moved
            "BLUE-1": channels_of([Membership("Blue")]),
        },
        NOW,
    )
    assert [e.type for e in red.sent] == ["t-x-g-c"]
    assert blue.sent == []
    # Reading (the picture, the groups) sends nothing.
    hub.releasable_picture(RED_US2, NOW)
    assert [e.type for e in red.sent] == ["t-x-g-c"]


def test_the_audience_decision_applies_groups_after_release() -> None:
    releases = ReleaseCache(DEFAULT_POLICY)
    marking = DEFAULT_POLICY.default_marking.with_originator("USA")
    red_reader = Reader(JPN, groups=frozenset({"Red"}))
    blue_reader = Reader(JPN, groups=frozenset({"Blue"}))
    origin = Origin("EAGLE", None, frozenset({"Red"}))
    assert may_receive(releases.decide, marking, red_reader, origin=origin).allowed
    refused = may_receive(releases.decide, marking, blue_reader, origin=origin)
    assert not refused.allowed and "group" in (refused.reason or "")

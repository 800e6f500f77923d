"""Routing and release in the relay, with in-memory peers (no sockets)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from allied_c2.cot.event import CotEvent, WireFormat
from allied_c2.cot.xmlcodec import parse_xml
from allied_c2.security.markings import Marking
from allied_c2.security.policy import DEFAULT_POLICY
from allied_c2.security.principals import ANONYMOUS, Principal
from allied_c2.server.fanout import Broadcast
from allied_c2.server.hub import Hub
from allied_c2.server.peers import Peer
from tests.support.cot import direct_chat, marker, pli

NOW = datetime.now(UTC)
US = Principal("EAGLE", "USA", "SECRET")
JPN = Principal("SAKURA", "JPN", "SECRET")
PHL = Principal("AGILA", "PHL", "CONFIDENTIAL")


class FakePeer:
    def __init__(self, principal: Principal, name: str) -> None:
        self.principal = principal
        self.uid: str | None = None
        self.callsign: str | None = None
        self.group_name: str | None = None
        self.peer_name = name
        self.sent: list[CotEvent] = []
        self.catch_up: list[str] = []
        self.closed: str | None = None

    @property
    def output_format(self) -> WireFormat:
        return WireFormat.XML

    def send(self, key: str | None, event: CotEvent) -> None:
        self.sent.append(event)

    def begin_catch_up(self, uids: list[str]) -> None:
        self.catch_up = uids

    def deliver(self, data: bytes, items: list[Broadcast]) -> None:
        assert data == b"".join(item.event.xml_wire for item in items)
        self.sent.extend(item.event for item in items)

    def close(self, reason: str, detail: str) -> None:
        self.closed = reason

    def uids(self) -> list[str]:
        return [e.uid for e in self.sent]


Audit = list[tuple[str, str, str, dict[str, object]]]


class FlushingHub(Hub):
    """Delivers broadcasts at once, as the service does at the end of every loop turn."""

    def ingest(
        self, sender: Peer | None, principal: Principal, event: CotEvent, now: datetime
    ) -> bool:
        accepted = super().ingest(sender, principal, event, now)
        self.flush()
        return accepted

    def detach(self, peer: Peer, now: datetime) -> None:
        super().detach(peer, now)
        self.flush()


@pytest.fixture
def audit() -> Audit:
    return []


@pytest.fixture
def hub(audit: Audit) -> Hub:
    stored: list[tuple[CotEvent, Marking, Principal]] = []
    hub = FlushingHub(
        DEFAULT_POLICY,
        DEFAULT_POLICY.default_marking,
        history=lambda e, m, p, now: stored.append((e, m, p)),
        audit=lambda *entry: audit.append(entry),
    )
    hub.stored = stored  # type: ignore[attr-defined]
    return hub


def join(hub: Hub, principal: Principal, name: str, uid: str | None = None) -> FakePeer:
    peer = FakePeer(principal, name)
    hub.attach(peer, NOW)
    if uid is not None:
        hub.ingest(peer, principal, parse_xml(pli(uid, name)), NOW)
    return peer


def test_broadcast_reaches_everyone_else_and_not_the_sender(hub: Hub) -> None:
    a, b, c = (join(hub, US, n) for n in ("A", "B", "C"))
    hub.ingest(a, US, parse_xml(pli("a-1", "A")), NOW)
    assert b.uids() == ["a-1"] and c.uids() == ["a-1"] and a.uids() == []


def test_unmarked_events_are_stamped_with_the_default_marking_and_stored(hub: Hub) -> None:
    a, b = join(hub, US, "A"), join(hub, US, "B")
    hub.ingest(a, US, parse_xml(pli("a-1", "A")), NOW)
    assert b.sent[0].access == "UNCLASSIFIED"
    assert b'access="UNCLASSIFIED"' in b.sent[0].xml_wire
    assert [e.uid for e, _, _ in hub.stored] == ["a-1"]  # type: ignore[attr-defined]


def test_one_audience_shares_one_joined_buffer_and_senders_miss_only_their_own(
    audit: Audit,
) -> None:
    hub = Hub(DEFAULT_POLICY, DEFAULT_POLICY.default_marking)
    a, b = join(hub, US, "A"), join(hub, US, "B")
    watchers = [join(hub, US, f"W{i}") for i in range(3)]
    hub.ingest(a, US, parse_xml(pli("a-1", "A")), NOW)
    hub.ingest(b, US, parse_xml(pli("b-1", "B")), NOW)
    assert all(w.sent == [] for w in watchers)  # nothing is written before the turn ends
    hub.flush()
    assert [w.uids() for w in watchers] == [["a-1", "b-1"]] * 3
    assert a.uids() == ["b-1"] and b.uids() == ["a-1"]
    assert hub.stats.deliveries == 8


def test_release_groups_recipients_by_principal(hub: Hub) -> None:
    sender = join(hub, US, "S")
    us_peers = [join(hub, US, f"U{i}") for i in range(3)]
    jpn, phl, anon = join(hub, JPN, "J"), join(hub, PHL, "P"), join(hub, ANONYMOUS, "N")
    event = parse_xml(marker("m", 1, 1, marking=("SECRET", "REL TO", "USA JPN")))
    hub.ingest(sender, US, event, NOW)
    assert all(p.uids() == ["m"] for p in us_peers)
    assert jpn.uids() == ["m"] and phl.uids() == [] and anon.uids() == []
    assert hub.stats.deliveries == 4 and hub.stats.release_denied == 2


def test_direct_message_by_callsign_and_by_uid(hub: Hub) -> None:
    a = join(hub, US, "ALPHA", uid="a-uid")
    b = join(hub, JPN, "BRAVO", uid="b-uid")
    c = join(hub, US, "CHARLIE", uid="c-uid")
    for peer in (a, b, c):
        peer.sent.clear()
    hub.ingest(a, US, parse_xml(direct_chat("a-uid", "ALPHA", "b-uid", "BRAVO", "hi")), NOW)
    by_uid = direct_chat("a-uid", "ALPHA", "c-uid", "CHARLIE", "yo").replace(
        b'<dest callsign="CHARLIE"/>', b'<dest uid="c-uid"/>'
    )
    hub.ingest(a, US, parse_xml(by_uid), NOW)
    assert [e.remarks for e in b.sent] == ["hi"]
    assert [e.remarks for e in c.sent] == ["yo"]


def test_addressing_does_not_bypass_the_marking_and_is_audited(hub: Hub, audit: Audit) -> None:
    a = join(hub, US, "ALPHA", uid="a-uid")
    p = join(hub, PHL, "AGILA", uid="p-uid")
    p.sent.clear()
    secret = direct_chat("a-uid", "ALPHA", "p-uid", "AGILA", "no").replace(
        b'type="b-t-f"', b'type="b-t-f" access="SECRET" caveat="REL TO" releasableTo="USA JPN"'
    )
    hub.ingest(a, US, parse_xml(secret), NOW)
    assert p.sent == []
    assert [(actor, action) for actor, action, _, _ in audit] == [("EAGLE", "release.denied")]


def test_team_chat_goes_to_the_team_and_all_chat_to_everyone(hub: Hub) -> None:
    # Three people (a principal answers to every team its connections joined).
    cyan_user, red_user = Principal("CYAN", "USA", "SECRET"), Principal("RED", "USA", "SECRET")
    a = join(hub, US, "ALPHA", uid="a-uid")
    cyan = join(hub, cyan_user, "CYAN-2", uid="c-uid")  # pli() puts everyone in team Cyan
    red = FakePeer(red_user, "RED-1")
    hub.attach(red, NOW)
    hub.ingest(
        red, red_user, parse_xml(pli("r-uid", "RED-1").replace(b'name="Cyan"', b'name="Red"')), NOW
    )
    for peer in (a, cyan, red):
        peer.sent.clear()
    team = direct_chat("a-uid", "ALPHA", "Cyan", "Cyan", "team").replace(
        b'<marti><dest callsign="Cyan"/></marti>', b""
    )
    hub.ingest(a, US, parse_xml(team), NOW)
    everyone = direct_chat("a-uid", "ALPHA", "All Chat Rooms", "All Chat Rooms", "all").replace(
        b'<marti><dest callsign="All Chat Rooms"/></marti>', b""
    )
    hub.ingest(a, US, parse_xml(everyone), NOW)
    assert [e.remarks for e in cyan.sent] == ["team", "all"]
    assert [e.remarks for e in red.sent] == ["all"]


def test_sending_above_clearance_is_refused_counted_and_audited(hub: Hub, audit: Audit) -> None:
    p, us = join(hub, PHL, "AGILA"), join(hub, US, "EAGLE")
    hub.ingest(p, PHL, parse_xml(marker("x", 1, 1, marking=("SECRET", "REL TO", "USA PHL"))), NOW)
    assert us.sent == []
    assert hub.stats.refusals["send_not_permitted"] == 1
    assert audit[0][1] == "send.refused"


def test_an_invalid_marking_is_refused_never_passed_on_unmarked(hub: Hub) -> None:
    a, b = join(hub, US, "A"), join(hub, US, "B")
    hub.ingest(a, US, parse_xml(marker("x", 1, 1, marking=("SECRETISH", None, None))), NOW)
    assert b.sent == [] and hub.stats.refusals["bad_marking"] == 1


def test_disconnect_notifies_those_who_could_see_the_client(hub: Hub) -> None:
    a = join(hub, US, "ALPHA", uid="a-uid")
    b = join(hub, US, "BRAVO", uid="b-uid")
    hub.detach(a, NOW)
    notice = b.sent[-1]
    assert notice.type == "t-x-d-d" and notice.link_uids == ("a-uid",)


def test_catch_up_lists_the_picture_and_items_are_checked_when_due(hub: Hub) -> None:
    a = join(hub, US, "ALPHA", uid="a-uid")
    hub.ingest(a, US, parse_xml(marker("noforn", 1, 1, marking=("SECRET", "NOFORN", None))), NOW)
    late_jpn = join(hub, JPN, "LATE")
    assert set(late_jpn.catch_up) == {"a-uid", "noforn"}
    late_us = join(hub, US, "LATE-US")
    assert hub.catch_up_item("noforn", late_jpn, NOW) is None
    assert hub.catch_up_item("noforn", late_us, NOW) is not None
    assert hub.catch_up_item("a-uid", late_jpn, NOW) is not None
    later = datetime.now(UTC) + timedelta(hours=1)
    assert hub.catch_up_item("a-uid", late_jpn, later) is None  # stale by then


def test_an_older_report_arriving_late_does_not_move_the_item_back(hub: Hub) -> None:
    a = join(hub, US, "A")
    new = parse_xml(pli("u", "U", lat=10.0, when=NOW))
    old = parse_xml(pli("u", "U", lat=20.0, when=NOW - timedelta(minutes=1)))
    hub.ingest(a, US, new, NOW)
    hub.ingest(a, US, old, NOW)
    entry = hub.picture.get("u")
    assert entry is not None and entry.event.lat == 10.0


def test_stale_items_leave_the_picture(hub: Hub) -> None:
    a = join(hub, US, "A")
    hub.ingest(a, US, parse_xml(marker("short", 1, 1, stale_s=1)), NOW)
    assert "short" in hub.picture
    assert hub.sweep(datetime.now(UTC) + timedelta(seconds=5)) == 1
    assert "short" not in hub.picture


def test_a_uid_bound_to_one_connection_cannot_be_taken_over_by_another(hub: Hub) -> None:
    # Another principal (the same principal reconnecting does take over: see
    # test_audience_exits.py).
    other = Principal("THIEF", "USA", "SECRET")
    owner = join(hub, US, "OWNER", uid="owner-uid")
    thief = join(hub, other, "THIEF")
    hub.ingest(thief, other, parse_xml(pli("owner-uid", "OWNER")), NOW)  # same uid and callsign
    sender = join(hub, US, "SENDER", uid="s-uid")
    for peer in (owner, thief):
        peer.sent.clear()
    hub.ingest(
        sender, US, parse_xml(direct_chat("s-uid", "SENDER", "owner-uid", "OWNER", "x")), NOW
    )
    assert [e.remarks for e in owner.sent] == ["x"]
    assert [e.type for e in thief.sent if e.type == "b-t-f"] == []

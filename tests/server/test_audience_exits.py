"""Addressed items never reach the shared picture's wider audience (issue 9, defects 1, 2, 4).

Each test drives the relay with in-memory peers and reads every exit the hub
offers: live delivery, catch-up, the picture as the HTTP API and web views see
it, restore after a restart, the contact list's marking and the disconnect
notice. Each failed on the code before the audience decision existed.
"""

from __future__ import annotations

from datetime import timedelta

from allied_c2.cot.xmlcodec import parse_xml
from allied_c2.security.decision import ReleaseCache
from allied_c2.security.policy import DEFAULT_POLICY
from allied_c2.security.principals import ANONYMOUS, Principal
from allied_c2.server.hub import Hub
from allied_c2.server.peers import Restored
from tests.server.test_hub import JPN, NOW, US, FakePeer, FlushingHub, join
from tests.support.cot import direct_chat, marker, pli

AUDITOR = Principal("WATCHER", "USA", "TOP SECRET", roles=frozenset({"auditor"}))
ADMIN = Principal("ROOT", "USA", "TOP SECRET", roles=frozenset({"admin"}))
CHARLIE = Principal("CHARLIE", "USA", "SECRET")


def addressed_marker(uid: str, to_callsign: str, marking: str | None = None) -> bytes:
    """A marker ATAK sends to one contact: `<marti><dest callsign=…/></marti>`."""
    xml = marker(uid, 35.0, 139.0)
    if marking is not None:
        xml = xml.replace(b'how="h-g-i-g-o"', f'how="h-g-i-g-o" access="{marking}"'.encode())
    return xml.replace(
        b"</detail>", f'<marti><dest callsign="{to_callsign}"/></marti></detail>'.encode()
    )


def fresh_hub() -> Hub:
    return FlushingHub(DEFAULT_POLICY, DEFAULT_POLICY.default_marking)


def test_an_addressed_marker_reaches_its_addressee_only_live() -> None:
    hub = fresh_hub()
    alpha = join(hub, US, "ALPHA", uid="a-uid")
    charlie = join(hub, CHARLIE, "CHARLIE", uid="c-uid")
    third = join(hub, US, "THIRD", uid="t-uid")
    for peer in (alpha, charlie, third):
        peer.sent.clear()
    hub.ingest(alpha, US, parse_xml(addressed_marker("m-1", "CHARLIE")), NOW)
    assert charlie.uids() == ["m-1"]
    assert third.uids() == [] and alpha.uids() == []


def test_an_addressed_marker_is_not_in_anyone_elses_catch_up_or_picture() -> None:
    hub = fresh_hub()
    alpha = join(hub, US, "ALPHA", uid="a-uid")
    join(hub, CHARLIE, "CHARLIE", uid="c-uid")
    hub.ingest(alpha, US, parse_xml(addressed_marker("m-1", "CHARLIE")), NOW)
    late = join(hub, JPN, "LATE")
    assert "m-1" in late.catch_up  # listed, then decided when due:
    assert hub.catch_up_item("m-1", late, NOW) is None
    seen = {e.event.uid for e in hub.releasable_picture(ANONYMOUS, NOW)}
    assert "m-1" not in seen and "a-uid" in seen
    assert "m-1" not in {e.event.uid for e in hub.releasable_picture(JPN, NOW)}
    # Its sender, its addressee (by principal or by the callsign its phone bound)
    # and an explicit auditor see it; an admin is not an auditor.
    assert "m-1" in {e.event.uid for e in hub.releasable_picture(US, NOW)}
    assert "m-1" in {e.event.uid for e in hub.releasable_picture(CHARLIE, NOW)}
    assert "m-1" in {e.event.uid for e in hub.releasable_picture(AUDITOR, NOW)}
    assert "m-1" not in {e.event.uid for e in hub.releasable_picture(ADMIN, NOW)}


def test_a_reconnecting_addressee_gets_it_in_its_catch_up() -> None:
    hub = fresh_hub()
    alpha = join(hub, US, "ALPHA", uid="a-uid")
    phone = join(hub, CHARLIE, "CHARLIE-PHONE", uid="c-uid")
    hub.ingest(alpha, US, parse_xml(addressed_marker("m-1", "CHARLIE-PHONE")), NOW)
    hub.detach(phone, NOW)
    again = FakePeer(CHARLIE, "CHARLIE-PHONE")
    hub.attach(again, NOW)
    # Before it sent its SA again, the connection is known by its principal's claims.
    assert hub.catch_up_item("m-1", again, NOW) is not None


def test_an_anonymous_addressee_is_nobody_on_the_http_api() -> None:
    hub = fresh_hub()
    alpha = join(hub, US, "ALPHA", uid="a-uid")
    join(hub, ANONYMOUS, "anon-phone", uid="anon-uid")
    hub.ingest(alpha, US, parse_xml(addressed_marker("m-1", "anon-phone")), NOW)
    # The anonymous profile is shared by every plain-TCP client: no name is its own.
    assert "m-1" not in {e.event.uid for e in hub.releasable_picture(ANONYMOUS, NOW)}


def test_mission_and_group_addressed_items_are_never_broadcast() -> None:
    hub = fresh_hub()
    alpha = join(hub, US, "ALPHA", uid="a-uid")
    other = join(hub, US, "OTHER", uid="o-uid")
    other.sent.clear()
    for dest in ('mission="ops"', 'group="Cyan"'):
        xml = marker(f"m-{dest[:3]}", 1.0, 1.0).replace(
            b"</detail>", f"<marti><dest {dest}/></marti></detail>".encode()
        )
        hub.ingest(alpha, US, parse_xml(xml), NOW)
    assert other.sent == []
    assert {e.event.uid for e in hub.releasable_picture(JPN, NOW)} == {"a-uid", "o-uid"}


def test_team_chat_reaches_the_team_only() -> None:
    # Three people: a principal answers to every team its connections joined, so
    # the red team member must be someone else than the cyan ones.
    hub = fresh_hub()
    alpha = join(hub, US, "ALPHA", uid="a-uid")
    cyan = join(hub, CHARLIE, "CYAN-2", uid="c-uid")  # pli() puts everyone in team Cyan
    red_user = Principal("RED", "USA", "SECRET")
    red = FakePeer(red_user, "RED-1")
    hub.attach(red, NOW)
    hub.ingest(red, red_user, parse_xml(pli("r-uid", "RED-1", team="Red")), NOW)
    for peer in (cyan, red):
        peer.sent.clear()
    team = direct_chat("a-uid", "ALPHA", "Cyan", "Cyan", "team").replace(
        b'<marti><dest callsign="Cyan"/></marti>', b""
    )
    hub.ingest(alpha, US, parse_xml(team), NOW)
    assert [e.remarks for e in cyan.sent] == ["team"] and red.sent == []


def test_restore_applies_the_live_rules() -> None:
    """Defect 2: every stored row went into the picture, chat included, for everyone."""
    policy, default = DEFAULT_POLICY, DEFAULT_POLICY.default_marking
    chat = parse_xml(direct_chat("a-uid", "ALPHA", "c-uid", "CHARLIE", "private"))
    addressed = parse_xml(addressed_marker("m-1", "CHARLIE"))
    public = parse_xml(marker("p-1", 1.0, 1.0))
    sa = parse_xml(pli("c-uid", "CHARLIE-PHONE"))
    hub = Hub(policy, default)
    count = hub.restore(
        [
            Restored(chat, default, "EAGLE", "USA"),
            Restored(addressed, default, "EAGLE", "USA"),
            Restored(public, default, "EAGLE", "USA"),
            Restored(sa, default, "CHARLIE", "USA"),
        ]
    )
    assert count == 3 and chat.uid not in hub.picture  # chat is never picture
    assert {e.event.uid for e in hub.releasable_picture(JPN, NOW)} == {"p-1", "c-uid"}
    assert "m-1" in {e.event.uid for e in hub.releasable_picture(US, NOW)}  # sender
    # The addressee's own SA row brought back the callsign its phone answers to.
    charlie = Principal("CHARLIE", "USA", "SECRET")
    assert "m-1" in {e.event.uid for e in hub.releasable_picture(charlie, NOW)}
    late = FakePeer(JPN, "LATE")
    hub.attach(late, NOW)
    assert hub.catch_up_item("m-1", late, NOW) is None


def test_disconnect_notice_is_marked_like_the_contacts_most_restrictive_item() -> None:
    """Defect 4: the notice went out unmarked, to everyone the default marking allows."""
    hub = fresh_hub()
    us = join(hub, US, "EAGLE", uid="e-uid")
    hub.ingest(us, US, parse_xml(marker("nf", 1, 1, marking=("SECRET", "NOFORN", None))), NOW)
    friend = join(hub, US, "FRIEND", uid="f-uid")
    jpn = join(hub, JPN, "SAKURA", uid="s-uid")
    friend.sent.clear()
    jpn.sent.clear()
    hub.detach(us, NOW)
    assert [e.type for e in friend.sent] == ["t-x-d-d"]
    assert friend.sent[0].access is not None and friend.sent[0].caveat == "NOFORN"
    assert jpn.sent == []


def test_contact_marking_never_falls_back_to_the_default() -> None:
    hub = fresh_hub()
    us = join(hub, US, "EAGLE", uid="e-uid")
    hub.ingest(us, US, parse_xml(marker("nf", 1, 1, marking=("SECRET", "NOFORN", None))), NOW)
    # Its SA is overwritten by a newer public report, or has gone stale:
    hub.ingest(us, US, parse_xml(pli("e-uid", "EAGLE", stale_s=1)), NOW)
    hub.sweep(NOW + timedelta(seconds=5))
    contact = hub.contact_marking(us)
    assert contact is not None
    releases = ReleaseCache(DEFAULT_POLICY)
    assert not releases.decide(contact, JPN).allowed
    assert releases.decide(contact, US).allowed


def test_the_same_client_reconnecting_takes_over_its_uid_and_callsign() -> None:
    """Issue 14: a phone flapping between networks leaves no zombie owning its names."""
    hub = fresh_hub()
    alpha = join(hub, US, "ALPHA", uid="a-uid")
    old = join(hub, CHARLIE, "10.0.0.1:5000", uid="c-uid")
    new = FakePeer(CHARLIE, "10.0.0.2:6000")
    hub.attach(new, NOW)
    hub.ingest(new, CHARLIE, parse_xml(pli("c-uid", "10.0.0.1:5000")), NOW)
    assert old.closed == "superseded" and new.uid == "c-uid"
    hub.detach(old, NOW)  # as the service does once the aborted transport is lost
    chat = direct_chat("a-uid", "ALPHA", "c-uid", "x", "hi").replace(
        b'<dest callsign="x"/>', b'<dest uid="c-uid"/>'
    )  # as iTAK addresses it
    hub.ingest(alpha, US, parse_xml(chat), NOW)
    assert [e.remarks for e in new.sent if e.type == "b-t-f"] == ["hi"]
    assert not [e for e in old.sent if e.type == "b-t-f"]


def test_another_principal_never_takes_over_a_live_uid() -> None:
    hub = fresh_hub()
    owner = join(hub, CHARLIE, "10.0.0.1:5000", uid="c-uid")
    thief = FakePeer(US, "10.0.0.1:5001")
    hub.attach(thief, NOW)
    hub.ingest(thief, US, parse_xml(pli("c-uid", "THIEF")), NOW)
    assert owner.closed is None and thief.uid is None
    anon_a = join(hub, ANONYMOUS, "10.0.0.5:1", uid="anon-uid")
    anon_b = FakePeer(ANONYMOUS, "10.0.0.6:1")  # anonymous from another address
    hub.attach(anon_b, NOW)
    hub.ingest(anon_b, ANONYMOUS, parse_xml(pli("anon-uid", "X")), NOW)
    assert anon_a.closed is None and anon_b.uid is None
    anon_c = FakePeer(ANONYMOUS, "10.0.0.5:2")  # the same address: the same phone
    hub.attach(anon_c, NOW)
    hub.ingest(anon_c, ANONYMOUS, parse_xml(pli("anon-uid", "X")), NOW)
    assert anon_a.closed == "superseded" and anon_c.uid == "anon-uid"


def test_an_undefined_access_is_stamped_with_the_default_marking() -> None:
    """iTAK and WearTAK write access="Undefined" when the user chose nothing."""
    hub = fresh_hub()
    a, b = join(hub, US, "A"), join(hub, US, "B")
    xml = marker("u-1", 1, 1).replace(b'how="h-g-i-g-o"', b'how="h-g-i-g-o" access="Undefined"')
    hub.ingest(a, US, parse_xml(xml), NOW)
    assert b.sent[-1].access == "UNCLASSIFIED"
    assert b'access="Undefined"' not in b.sent[-1].xml_wire

"""The one audience decision (security/audience.py) and the rule that every exit uses it."""

from __future__ import annotations

import re
from pathlib import Path

from allied_c2.cot.addressing import PUBLIC, Addressing, addressing_of
from allied_c2.cot.xmlcodec import parse_xml
from allied_c2.security.audience import (
    NOT_ADDRESSED,
    Audience,
    Origin,
    Reader,
)
from allied_c2.security.decision import ReleaseCache
from allied_c2.security.markings import parse_banner
from allied_c2.security.policy import DEFAULT_POLICY
from allied_c2.security.principals import ANONYMOUS, Principal
from tests.support.cot import direct_chat, marker

SRC = Path(__file__).resolve().parents[2] / "src" / "allied_c2"
US = Principal("EAGLE", "USA", "SECRET")
JPN = Principal("SAKURA", "JPN", "SECRET")
AUDITOR = Principal("WATCH", "JPN", "SECRET", roles=frozenset({"auditor"}))
ADMIN = Principal("ROOT", "USA", "TOP SECRET", roles=frozenset({"admin"}))
audience = Audience(ReleaseCache(DEFAULT_POLICY))
REL = parse_banner("SECRET//REL TO USA, JPN", DEFAULT_POLICY).with_originator("USA")
NF = parse_banner("SECRET//NOFORN", DEFAULT_POLICY).with_originator("USA")
TO_SAKURA = Addressing(callsigns=frozenset({"SAKURA"}))
FROM_EAGLE = Origin("EAGLE", "e-uid")


def test_public_items_follow_the_release_decision_alone() -> None:
    assert audience.allows(REL, Reader.of(JPN))
    assert not audience.allows(NF, Reader.of(JPN))
    assert not audience.allows(REL, Reader.of(ANONYMOUS))


def test_addressed_items_reach_sender_addressees_and_auditors_only() -> None:
    assert audience.allows(REL, Reader.of(JPN), TO_SAKURA, FROM_EAGLE)  # by principal callsign
    assert audience.allows(REL, Reader.of(US), TO_SAKURA, FROM_EAGLE)  # the sender
    assert audience.allows(REL, Reader.of(AUDITOR), TO_SAKURA, FROM_EAGLE)
    other = Principal("OTHER", "USA", "TOP SECRET")
    assert audience.decide(REL, Reader.of(other), TO_SAKURA, FROM_EAGLE) is NOT_ADDRESSED
    assert not audience.allows(REL, Reader.of(ADMIN), TO_SAKURA, FROM_EAGLE)  # admin ≠ auditor
    phone = Reader(other, uids=frozenset({"e-uid"}))  # the sending connection itself
    assert audience.allows(REL, phone, TO_SAKURA, FROM_EAGLE)


def test_addressing_never_widens_release() -> None:
    to_jpn = Addressing(callsigns=frozenset({"SAKURA"}))
    assert not audience.allows(NF, Reader.of(JPN), to_jpn, FROM_EAGLE)
    assert not audience.allows(NF, Reader.of(AUDITOR), to_jpn, FROM_EAGLE)


def test_the_anonymous_profile_is_nobodys_addressee_by_name() -> None:
    public = parse_banner("UNCLASSIFIED", DEFAULT_POLICY)
    to_anonymous = Addressing(callsigns=frozenset({ANONYMOUS.callsign}))
    assert not audience.allows(public, Reader.of(ANONYMOUS), to_anonymous, Origin("anonymous"))


def test_addressing_read_from_events() -> None:
    assert addressing_of(parse_xml(marker("m", 1, 1))) is PUBLIC
    dm = addressing_of(parse_xml(direct_chat("a", "ALPHA", "b", "BRAVO", "hi")))
    assert dm.callsigns == {"BRAVO"} and not dm.public
    no_marti = direct_chat("a", "ALPHA", "b", "BRAVO", "hi").replace(
        b'<marti><dest callsign="BRAVO"/></marti>', b""
    )
    chat = addressing_of(parse_xml(no_marti))
    assert chat.uids == {"a", "b"} and chat.teams == {"BRAVO"} and chat.callsigns == {"BRAVO"}
    everyone = no_marti.replace(b'chatroom="BRAVO"', b'chatroom="All Chat Rooms"')
    assert addressing_of(parse_xml(everyone)).public
    empty_marti = marker("m", 1, 1).replace(b"</detail>", b"<marti/></detail>")
    assert addressing_of(parse_xml(empty_marti)).public


def test_no_exit_calls_the_release_decision_on_its_own() -> None:
    """Structural: outside security/, releases are decided only through Hub.audience.

    A new exit that reached for ``may_release`` or the release cache directly
    would decide without the addressing rule; this test names it.
    """
    offenders = []
    pattern = re.compile(r"\bmay_release\(|\breleases\.decide\b|\bReleaseCache\(")
    for path in SRC.rglob("*.py"):
        if path.parent.name == "security":
            continue
        for number, line in enumerate(path.read_text("utf-8").splitlines(), 1):
            if pattern.search(line):
                offenders.append(f"{path.relative_to(SRC)}:{number}: {line.strip()}")
    # The hub builds the one cache its Audience wraps.
    assert all("server/hub.py" in o and "ReleaseCache(policy)" in o for o in offenders), offenders

"""The outbound guard, rule by rule, and a property test against the reference oracle."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from allied_c2.federation.guard import (
    ATTRIBUTION,
    ECHO,
    FROM_FEDERATE,
    NOT_ADDRESSED_HERE,
    NOT_FEDERATED,
    RELEASE,
    STALE,
    Cross,
    Deny,
)
from allied_c2.federation.rules import load_rules
from allied_c2.security.markings import Marking
from allied_c2.security.policy import DEFAULT_POLICY
from allied_c2.security.principals import Principal
from tests.federation.helpers import NOW, event, guard, marking, offer, peer
from tests.security.oracle import HOME, LEVELS, SHIPPED_CUI_ANY, SHIPPED_TABLE, reference_allows
from tests.security.test_security_properties import markings, principals


def _reason(verdict: Cross | Deny) -> str | None:
    return verdict.reason if isinstance(verdict, Deny) else None


def test_noforn_never_crosses_and_rel_to_reaches_only_the_listed() -> None:
    g = guard()
    noforn = offer(event(), marking("SECRET", "NOFORN"))
    assert _reason(g.decide(noforn, peer(), NOW)) == RELEASE
    rel = offer(event(), marking("SECRET", "REL TO", "USA JPN"))
    crossed = g.decide(rel, peer(), NOW)
    assert isinstance(crossed, Cross) and crossed.event.releasable_to == "USA JPN"
    assert _reason(g.decide(rel, peer("PHL-SRV", "PHL"), NOW)) == RELEASE
    assert _reason(g.decide(rel, peer(clearance="CONFIDENTIAL"), NOW)) == RELEASE


def test_no_relay_no_echo_unless_allowed() -> None:
    g = guard()
    item = offer(event(), marking("UNCLASSIFIED"), sender="fed:PHL-SRV", via="PHL-SRV")
    assert _reason(g.decide(item, peer(), NOW)) == FROM_FEDERATE
    assert _reason(g.decide(item, peer("PHL-SRV", "PHL"), NOW)) == ECHO
    allowed = peer(relay_from=frozenset({"PHL-SRV"}))
    assert isinstance(g.decide(item, allowed, NOW), Cross)


def test_control_stale_and_mission_traffic_stay() -> None:
    g = guard()
    unclass = marking("UNCLASSIFIED")
    for cot_type in ("t-x-c-t", "t-x-takp-q", "t-x-m-c", "b-f-t-r"):
        assert (
            _reason(g.decide(offer(event(cot_type=cot_type), unclass), peer(), NOW))
            == NOT_FEDERATED
        )
    old = offer(event(stale=timedelta(seconds=-1)), unclass)
    assert _reason(g.decide(old, peer(), NOW)) == STALE


def test_addressed_items_cross_only_towards_a_contact_of_that_peer() -> None:
    g = guard()
    chat = event(
        "GeoChat.1",
        "b-t-f",
        '<detail><__chat chatroom="SAKURA" id="jp-uid" senderCallsign="EAGLE">'
        '<chatgrp uid0="us-uid" uid1="jp-uid" id="jp-uid"/></__chat>'
        '<marti><dest callsign="SAKURA"/></marti><remarks>hi</remarks></detail>',
    )
    item = offer(chat, marking("UNCLASSIFIED"))
    assert _reason(g.decide(item, peer(), NOW)) == NOT_ADDRESSED_HERE
    assert isinstance(g.decide(item, peer(callsigns=frozenset({"SAKURA"})), NOW), Cross)
    # Addressed to the peer's contact but not releasable to it: a release denial.
    secret = offer(chat, marking("SECRET", "NOFORN"))
    assert _reason(g.decide(secret, peer(callsigns=frozenset({"SAKURA"})), NOW)) == RELEASE


def test_a_releasable_copy_only_through_a_rule() -> None:
    rules = load_rules(
        '[[rules]]\nname = "copy"\ntypes = ["a-h-*"]\nmarkings = ["SECRET//NOFORN"]\n'
        'drop = ["remarks"]\ncoarsen_m = 1000\nrelease_as = "CONFIDENTIAL//REL TO USA, JPN"\n',
        "r.toml",
        DEFAULT_POLICY,
    )
    g = guard()
    track = offer(event(cot_type="a-h-G"), marking("SECRET", "NOFORN"))
    verdict = g.decide(track, peer(rules=rules), NOW)
    assert isinstance(verdict, Cross) and verdict.rule == "copy"
    assert verdict.marking.banner() == "CONFIDENTIAL//REL TO USA, JPN"
    assert verdict.marking.originator == "USA"
    assert verdict.event.remarks is None and verdict.event.lat != track.event.lat
    # The rule names its markings: TOP SECRET is not downgraded by it.
    top = offer(event(cot_type="a-h-G"), marking("TOP SECRET", "NOFORN"))
    assert _reason(g.decide(top, peer(rules=rules), NOW)) == RELEASE
    # A copy is still decided for the peer: PHL is not in its list.
    assert _reason(g.decide(track, peer("PHL-SRV", "PHL", rules=rules), NOW)) == RELEASE


def test_attribution_keeps_a_foreign_originators_items_home() -> None:
    # A JPN liaison on the US server marks an item for Japan only (no REL TO list).
    liaison = offer(event(), marking("SECRET", None, None, origin="JPN"))
    assert _reason(guard("USA").decide(liaison, peer(), NOW)) == ATTRIBUTION
    assert isinstance(guard("JPN").decide(liaison, peer(), NOW), Cross)
    # With a REL TO list the audience survives re-attribution.
    listed = offer(event(), marking("SECRET", "REL TO", "USA JPN", origin="JPN"))
    assert isinstance(guard(None).decide(listed, peer(), NOW), Cross)
    # A US-only item to another US server needs this server's nation configured.
    us_only = offer(event(), marking("SECRET", "NOFORN"))
    assert _reason(guard(None).decide(us_only, peer("USA-2", "USA"), NOW)) == ATTRIBUTION
    assert isinstance(guard("USA").decide(us_only, peer("USA-2", "USA"), NOW), Cross)


def _depends_on_originator(m: Marking) -> bool:
    """docs/federation.md: NOFORN, or classified/controlled (or any control) without REL TO."""
    if m.rel_to:
        return False
    rank, controlled = SHIPPED_TABLE[m.level], LEVELS[m.level][1]
    if rank == 0 and not controlled and not m.dissem:
        return False
    return not (
        rank == 0 and SHIPPED_CUI_ANY and set(m.dissem) <= {"FOUO"} and "NOFORN" not in m.dissem
    )


def oracle_crosses(m: Marking, p: Principal, home: str | None) -> bool:
    if not reference_allows(m, p, SHIPPED_TABLE, SHIPPED_CUI_ANY):
        return False
    # docs/federation.md, rule 6: such an item crosses only when its owner is this server's
    # configured nation; an item with no owner (a NATO marking) or a server without
    # federation_nation never sends it.
    owner = m.originator or HOME[m.system]
    return not _depends_on_originator(m) or (owner is not None and owner == home)


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_what_crosses_equals_the_reference(data: st.DataObject) -> None:
    m = data.draw(markings(SHIPPED_TABLE, DEFAULT_POLICY))
    person = data.draw(principals())
    if person.nation is None:
        person = Principal(person.callsign, "JPN", person.clearance, person.cois)
    home = data.draw(st.sampled_from([None, "USA", "JPN", "PHL"]))
    p = peer("PEER", person.nation or "JPN", person.clearance, cois=person.cois)
    verdict = guard(home).decide(offer(event(), m), p, NOW)
    assert isinstance(verdict, Cross) == oracle_crosses(m, p.principal, home), (
        m.banner(),
        m.originator,
        p.principal,
        home,
        verdict,
    )

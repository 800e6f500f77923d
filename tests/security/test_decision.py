"""Release and send decisions, and the release cache."""

from __future__ import annotations

import pytest

from allied_c2.security.decision import Decision, ReleaseCache, may_release, may_send
from allied_c2.security.markings import parse_banner
from allied_c2.security.policy import DEFAULT_POLICY, policy_from_dict
from allied_c2.security.principals import ANONYMOUS, Principal

US = Principal("viper", "USA", "SECRET")
JP = Principal("sakura", "JPN", "SECRET")
PH = Principal("agila", "PHL", "CONFIDENTIAL")
ANON = ANONYMOUS


# Issue 3's end-to-end expectations, as a table: who receives what a US user sends.
ISSUE_3 = [
    ("SECRET//REL TO USA, JPN", {"viper", "sakura"}),
    ("SECRET//NOFORN", {"viper"}),
    ("CONFIDENTIAL//REL TO USA, JPN, PHL", {"viper", "sakura", "agila"}),
    ("UNCLASSIFIED", {"viper", "sakura", "agila", "anonymous"}),
]


@pytest.mark.parametrize(("banner", "receivers"), ISSUE_3)
def test_issue_3_release_matrix(banner: str, receivers: set[str]) -> None:
    marking = parse_banner(banner).with_originator("USA")
    released = {p.callsign for p in (US, JP, PH, ANON) if may_release(marking, p).allowed}
    assert released == receivers


RELEASE = [
    # clearance dominance, through the equivalence table
    (
        "SECRET//REL TO USA, JPN, PHL",
        PH,
        "USA",
        "clearance PHL CONFIDENTIAL (≈CONFIDENTIAL) is below SECRET",
    ),
    ("SECRET//REL TO USA, JPN", ANON, "USA", "clearance UNCLASSIFIED is below SECRET"),
    ("JPN GOKUHI//REL TO USA, JPN", US, "JPN", None),
    (
        "JPN KIMITSU//REL TO USA, JPN",
        US,
        "JPN",
        "clearance SECRET is below JPN KIMITSU (≈TOP SECRET)",
    ),
    ("SECRET//REL TO USA, JPN", Principal("x", "JPN", "JPN:GOKUHI"), "USA", None),
    (
        "SECRET//REL TO USA, JPN",
        Principal("x", "JPN", "JPN:HI"),
        "USA",
        "clearance JPN HI (≈CONFIDENTIAL) is below SECRET",
    ),
    ("NATO SECRET", Principal("x", "GBR", "SECRET"), None, None),
    (
        "SECRET",
        Principal("x", "USA", "SEKRET"),
        "USA",
        "clearance 'SEKRET' is not in this server's policy",
    ),
    # nationality
    ("SECRET//NOFORN", JP, "USA", "NOFORN: releasable only to USA"),
    ("SECRET//NOFORN", JP, "JPN", None),  # the originating nation passes
    ("SECRET//NOFORN", US, "JPN", "NOFORN: releasable only to JPN"),
    ("SECRET//NOFORN", US, None, None),  # no originator recorded: the scheme's nation
    ("SECRET", JP, "USA", "SECRET without REL TO is releasable only to USA"),
    ("SECRET//REL TO USA, GBR", JP, "USA", "JPN is not in the releasability list (GBR, USA)"),
    ("SECRET//REL TO USA, FVEY", Principal("x", "GBR", "SECRET"), "USA", None),
    (
        "SECRET//REL TO USA, ACGU",
        Principal("x", "NZL", "SECRET"),
        "USA",
        "NZL is not in the releasability list (ACGU, USA)",
    ),
    ("SECRET//REL TO USA, NATO", Principal("x", "FRA", "SECRET"), "USA", None),
    (
        "SECRET//REL TO USA, GBR/RELIDO",
        JP,
        "USA",
        "JPN is not in the releasability list (GBR, USA)",
    ),
    ("SECRET//REL TO USA, JPN/RELIDO", JP, "USA", None),
    (
        "SECRET//RELIDO",
        JP,
        "USA",
        "RELIDO: release to JPN needs a disclosure official, which a relay is not",
    ),
    (
        "SECRET//REL TO USA, GBR/DISPLAY ONLY JPN",
        JP,
        "USA",
        "DISPLAY ONLY to JPN: view-only disclosure cannot be enforced on a delivered copy",
    ),
    ("NATO SECRET", JP, None, "NATO SECRET without REL TO is releasable only to the NATO nations"),
    ("NATO SECRET", Principal("x", "DEU", "NATO SECRET"), "USA", None),
    (
        "NATO SECRET//RELIDO",
        Principal("x", "DEU", "SECRET"),
        "USA",
        "RELIDO: release to DEU needs a disclosure official, which a relay is not",
    ),
    ("CUI", JP, "USA", "CUI without REL TO is releasable only to USA"),
    ("CUI//REL TO USA, JPN", JP, "USA", None),
    ("UNCLASSIFIED//FOUO", JP, "USA", "UNCLASSIFIED without REL TO is releasable only to USA"),
    ("UNCLASSIFIED//REL TO USA, JPN", PH, "USA", "PHL is not in the releasability list (JPN, USA)"),
    ("UNCLASSIFIED//REL TO USA, JPN", JP, "USA", None),
    # the anonymous profile: public items only
    ("CUI", ANON, "USA", "anonymous: only UNCLASSIFIED items without controls are released"),
    (
        "UNCLASSIFIED//FOUO",
        ANON,
        "USA",
        "anonymous: only UNCLASSIFIED items without controls are released",
    ),
    (
        "UNCLASSIFIED//REL TO USA, JPN",
        ANON,
        "USA",
        "anonymous: only UNCLASSIFIED items without controls are released",
    ),
    (
        "UNCLASSIFIED//COI ISR",
        ANON,
        "USA",
        "anonymous: only UNCLASSIFIED items without controls are released",
    ),
    (
        "NATO UNCLASSIFIED",
        ANON,
        None,
        "anonymous: only UNCLASSIFIED items without controls are released",
    ),
    # need to know
    (
        "TOP SECRET//SI/TK//NOFORN",
        Principal("x", "USA", "TOP SECRET", frozenset({"SI"})),
        "USA",
        "need to know: TK not held",
    ),
    (
        "TOP SECRET//SI/TK//NOFORN",
        Principal("x", "USA", "TOP SECRET", frozenset({"SI", "TK"})),
        "USA",
        None,
    ),
    ("SECRET//SAR-BP//NOFORN", US, "USA", "need to know: SAR-BP not held"),
    (
        "SECRET//REL TO USA, JPN//COI SOF/CYBER",
        Principal("x", "JPN", "SECRET", frozenset({"SOF"})),
        "USA",
        "need to know: CYBER not held",
    ),
    (
        "SECRET//REL TO USA, JPN//COI ISR/MARITIME",
        Principal("x", "JPN", "SECRET", frozenset({"AIR"})),
        "USA",
        "need to know: none of ISR, MARITIME held",
    ),
    (
        "SECRET//REL TO USA, JPN//COI ISR/MARITIME",
        Principal("x", "JPN", "SECRET", frozenset({"ISR"})),
        "USA",
        None,
    ),
    # a COI the policy does not list is restrictive: fails closed
    ("SECRET//REL TO USA, JPN//COI NEWTHING", JP, "USA", "need to know: NEWTHING not held"),
]


@pytest.mark.parametrize(("banner", "principal", "originator", "reason"), RELEASE)
def test_may_release(
    banner: str, principal: Principal, originator: str | None, reason: str | None
) -> None:
    decision = may_release(
        parse_banner(banner, strict=False).with_originator(originator), principal
    )
    assert decision == (Decision(True) if reason is None else Decision(False, reason))


def test_cui_rule_any_nation_releases_cui_to_every_identified_nation() -> None:
    import tomllib
    from importlib import resources

    text = resources.files("allied_c2").joinpath("config/security-policy.toml").read_text("utf-8")
    data = tomllib.loads(text)
    data["cui_without_rel_to"] = "any-nation"
    policy = policy_from_dict(data)
    cui = parse_banner("CUI", policy).with_originator("USA")
    assert may_release(cui, PH, policy).allowed
    assert not may_release(cui, ANON, policy).allowed
    secret = parse_banner("SECRET", policy).with_originator("USA")
    assert not may_release(secret, JP, policy).allowed
    propin = parse_banner("UNCLASSIFIED//PROPIN", policy).with_originator("USA")
    assert not may_release(propin, JP, policy).allowed


SEND = [
    ("SECRET//REL TO USA, JPN", US, None),
    ("SECRET//REL TO USA, JPN", JP, None),
    ("TOP SECRET//REL TO USA, JPN", US, "cannot send TOP SECRET above clearance SECRET"),
    (
        "SECRET//REL TO USA, JPN, PHL",
        PH,
        "cannot send SECRET above clearance PHL CONFIDENTIAL (≈CONFIDENTIAL)",
    ),
    ("CONFIDENTIAL//REL TO USA, JPN", PH, "REL TO must include the sender's nation PHL"),
    ("SECRET//NOFORN", US, None),
    ("SECRET//NOFORN", JP, "NOFORN from a JPN principal must have JPN as originator"),
    ("JPN GOKUHI//REL TO USA, JPN", JP, None),
    ("JPN GOKUHI//REL TO USA, JPN", US, "a USA principal cannot originate JPN GOKUHI (JPN scheme)"),
    ("NATO SECRET", JP, "a JPN principal cannot originate NATO SECRET (NATO scheme)"),
    ("NATO SECRET", US, None),
    (
        "TOP SECRET//SI//NOFORN",
        Principal("x", "USA", "TOP SECRET"),
        "cannot send: need to know: SI not held",
    ),
    ("UNCLASSIFIED", ANON, None),
    ("CUI", ANON, "anonymous: may only send UNCLASSIFIED items without controls"),
    (
        "SECRET//REL TO USA, JPN",
        ANON,
        "anonymous: may only send UNCLASSIFIED items without controls",
    ),
]


@pytest.mark.parametrize(("banner", "principal", "reason"), SEND)
def test_may_send(banner: str, principal: Principal, reason: str | None) -> None:
    decision = may_send(parse_banner(banner, strict=False), principal)
    assert decision == (Decision(True) if reason is None else Decision(False, reason))


def test_may_send_checks_a_recorded_originator() -> None:
    marking = parse_banner("SECRET//REL TO USA, JPN")
    assert may_send(marking.with_originator("JPN"), JP).allowed
    assert may_send(marking.with_originator("USA"), JP) == Decision(
        False, "a JPN principal cannot send an item originated by USA"
    )
    # a NOFORN item sent by a JPN principal, once the server records it as JPN's
    assert may_send(parse_banner("SECRET//NOFORN").with_originator("JPN"), JP).allowed


def test_release_cache_hits_misses_and_bound() -> None:
    cache = ReleaseCache(DEFAULT_POLICY, max_entries=3)
    markings = [parse_banner(b).with_originator("USA") for b, _ in ISSUE_3]
    for marking in markings:
        for principal in (US, JP):
            assert cache.decide(marking, principal) == may_release(marking, principal)
    assert (cache.hits, cache.misses) == (0, 8)
    assert len(cache) == 3
    last = markings[-1]
    assert cache.decide(last, JP) == may_release(last, JP)
    assert cache.hits == 1
    # an equal marking parsed again is the same key
    again = parse_banner("UNCLASSIFIED").with_originator("USA")
    assert cache.decide(again, JP).allowed and cache.hits == 2
    # a changed principal (new clearance) is a new key, decided afresh
    demoted = Principal("sakura", "JPN", "CONFIDENTIAL")
    assert not cache.decide(markings[0], demoted).allowed
    assert cache.misses == 9
    cache.clear()
    assert len(cache) == 0
    with pytest.raises(ValueError):
        ReleaseCache(DEFAULT_POLICY, max_entries=0)

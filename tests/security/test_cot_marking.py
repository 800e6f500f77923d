"""Mapping markings to and from CoT's access, caveat and releasableTo attributes."""

from __future__ import annotations

import pytest

from allied_c2.security.markings import (
    MarkingError,
    is_unmarked_access,
    marking_from_cot,
    marking_to_cot,
    parse_banner,
)

FROM_COT = [
    # access only
    (("SECRET", None, None), "SECRET"),
    (("UNCLASSIFIED", None, None), "UNCLASSIFIED"),
    (("NATO SECRET", None, None), "NATO SECRET"),
    (("S", None, None), "SECRET"),
    # access + caveat + releasableTo, spaces, commas and any order
    (("SECRET", "REL TO", "USA JPN"), "SECRET//REL TO USA, JPN"),
    (("SECRET", "REL TO", "JPN USA"), "SECRET//REL TO USA, JPN"),
    (("SECRET", "REL TO", "USA,JPN,PHL"), "SECRET//REL TO USA, JPN, PHL"),
    (("SECRET", "REL TO", "PHL, JPN , USA"), "SECRET//REL TO USA, JPN, PHL"),
    (("CONFIDENTIAL", "REL TO", "usa jpn phl"), "CONFIDENTIAL//REL TO USA, JPN, PHL"),
    (("SECRET", "REL TO", "FVEY JPN"), "SECRET//REL TO JPN, FVEY"),
    (("SECRET", "REL", "USA JPN"), "SECRET//REL TO USA, JPN"),
    (("CONFIDENTIAL", "NOFORN", None), "CONFIDENTIAL//NOFORN"),
    (("CONFIDENTIAL", "NF", None), "CONFIDENTIAL//NOFORN"),
    (("UNCLASSIFIED", "FOUO", None), "UNCLASSIFIED//FOUO"),
    (("CUI", "REL TO", "USA JPN"), "CUI//REL TO USA, JPN"),
    (("TOP SECRET", "SI/TK//RELIDO", None), "TOP SECRET//SI/TK//RELIDO"),
    (("SECRET", "REL TO/RELIDO", "USA JPN"), "SECRET//REL TO USA, JPN/RELIDO"),
    (("TOP SECRET", "EYES ONLY", "USA GBR"), "TOP SECRET//USA/GBR EYES ONLY"),
    (("SECRET", "REL TO USA, JPN", None), "SECRET//REL TO USA, JPN"),
    (("SECRET", "REL TO USA, JPN", "JPN USA"), "SECRET//REL TO USA, JPN"),
    # releasableTo with no caveat can only mean REL TO
    (("SECRET", None, "USA JPN"), "SECRET//REL TO USA, JPN"),
    # a whole banner in access, alone or with agreeing attributes
    (("SECRET//REL TO USA, JPN", None, None), "SECRET//REL TO USA, JPN"),
    (("SECRET//REL TO JPN, USA", None, None), "SECRET//REL TO USA, JPN"),
    (("(S//NF)", None, None), "SECRET//NOFORN"),
    (("SECRET//REL TO USA, JPN", "REL TO", "JPN USA"), "SECRET//REL TO USA, JPN"),
    # blanks count as absent
    (("SECRET", " ", ""), "SECRET"),
]


@pytest.mark.parametrize(("attributes", "banner"), FROM_COT)
def test_marking_from_cot(
    attributes: tuple[str | None, str | None, str | None], banner: str
) -> None:
    assert marking_from_cot(*attributes).banner() == banner


def test_unmarked_event_gets_the_policy_default_or_the_given_default() -> None:
    assert marking_from_cot(None, None, None).banner() == "UNCLASSIFIED"
    assert marking_from_cot("", " ", None).banner() == "UNCLASSIFIED"
    high_side = parse_banner("SECRET//NOFORN")
    assert marking_from_cot(None, None, None, default=high_side) is high_side
    assert (
        marking_from_cot("CONFIDENTIAL", None, None, default=high_side).banner() == "CONFIDENTIAL"
    )


@pytest.mark.parametrize(
    "access", [None, "", "  ", "Undefined", "undefined", "UNDEFINED", " Undefined "]
)
def test_what_clients_write_for_no_marking_gets_the_default(access: str | None) -> None:
    # ATAK 5.x, WearTAK and CloudTAK write access="Undefined" when the user chose none.
    assert is_unmarked_access(access)
    high_side = parse_banner("SECRET//NOFORN")
    assert marking_from_cot(access, None, None, default=high_side) is high_side
    assert marking_from_cot(access, "", "").banner() == "UNCLASSIFIED"


def test_undefined_is_not_a_level_for_a_caveat() -> None:
    assert not is_unmarked_access("UNCLASSIFIED")
    with pytest.raises(MarkingError, match="without access"):
        marking_from_cot("Undefined", "NOFORN", None)


@pytest.mark.parametrize(
    ("attributes", "message"),
    [
        (
            (None, "REL TO", "USA JPN"),
            "caveat or releasableTo without access: a marking needs its level",
        ),
        (
            (None, None, "USA JPN"),
            "caveat or releasableTo without access: a marking needs its level",
        ),
        (("SECRET", "REL TO", None), "ISM-ID-00031: REL TO needs its list of countries"),
        (
            ("SECRET", "NOFORN", "USA JPN"),
            "ISM-ID-00032: releasableTo is given but caveat 'NOFORN' has no REL TO",
        ),
        (
            ("SECRET", "REL TO USA, GBR", "USA JPN"),
            "caveat 'REL TO USA, GBR' disagrees with releasableTo 'USA JPN'",
        ),
        (
            ("SECRET//REL TO USA, JPN", "REL TO", "USA PHL"),
            "access 'SECRET//REL TO USA, JPN' disagrees with caveat/releasableTo",
        ),
        (("SECRET", "REL TO", "USA"), "ISM-ID-00319: REL TO needs more than one country (got USA)"),
        (("SECRET", "REL TO", "USA XX"), "unknown country code or tetragraph 'XX'"),
        (("TOPSECRET", None, None), "unknown classification level 'TOPSECRET'"),
    ],
)
def test_invalid_cot_markings_are_refused(
    attributes: tuple[str | None, str | None, str | None], message: str
) -> None:
    with pytest.raises(MarkingError) as caught:
        marking_from_cot(*attributes)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("banner", "attributes"),
    [
        ("UNCLASSIFIED", ("UNCLASSIFIED", None, None)),
        ("SECRET//REL TO USA, JPN", ("SECRET", "REL TO", "USA JPN")),
        ("SECRET//REL TO USA, JPN, FVEY", ("SECRET", "REL TO", "USA JPN FVEY")),
        ("CONFIDENTIAL//NOFORN", ("CONFIDENTIAL", "NOFORN", None)),
        ("TOP SECRET//SI/TK//RELIDO", ("TOP SECRET", "SI/TK//RELIDO", None)),
        ("SECRET//REL TO USA, GBR/RELIDO", ("SECRET", "REL TO/RELIDO", "USA GBR")),
        ("TOP SECRET//USA/GBR EYES ONLY", ("TOP SECRET", "EYES ONLY", "USA GBR")),
        ("NATO SECRET", ("NATO SECRET", None, None)),
        ("JPN GOKUHI//REL TO USA, JPN", ("JPN GOKUHI", "REL TO", "USA JPN")),
        ("SECRET//NOFORN//COI ISR", ("SECRET", "NOFORN//COI ISR", None)),
    ],
)
def test_marking_to_cot_and_back(
    banner: str, attributes: tuple[str, str | None, str | None]
) -> None:
    marking = parse_banner(banner)
    assert marking_to_cot(marking) == attributes
    assert marking_from_cot(*attributes) == marking

"""Banner and portion parsing, validation messages and canonical formatting."""

from __future__ import annotations

import re

import pytest

from allied_c2.security.markings import Marking, MarkingError, parse_banner

# (as written, canonical banner, canonical portion)
VALID = [
    ("UNCLASSIFIED", "UNCLASSIFIED", "(U)"),
    ("(U)", "UNCLASSIFIED", "(U)"),
    ("UNCLASSIFIED//FOUO", "UNCLASSIFIED//FOUO", "(U//FOUO)"),
    ("CUI", "CUI", "(CUI)"),
    ("CUI//REL TO USA, JPN", "CUI//REL TO USA, JPN", "(CUI//REL TO USA, JPN)"),
    ("CUI//NOFORN", "CUI//NOFORN", "(CUI//NF)"),
    ("SECRET//REL TO USA, JPN", "SECRET//REL TO USA, JPN", "(S//REL TO USA, JPN)"),
    ("(S//REL TO USA, JPN)", "SECRET//REL TO USA, JPN", "(S//REL TO USA, JPN)"),
    ("SECRET//REL TO USA, JPN, PHL", "SECRET//REL TO USA, JPN, PHL", "(S//REL TO USA, JPN, PHL)"),
    ("CONFIDENTIAL//NOFORN", "CONFIDENTIAL//NOFORN", "(C//NF)"),
    ("(C//NF)", "CONFIDENTIAL//NOFORN", "(C//NF)"),
    ("TOP SECRET//SI/TK//RELIDO", "TOP SECRET//SI/TK//RELIDO", "(TS//SI/TK//RELIDO)"),
    ("TOP SECRET//SI-G/TK//NOFORN", "TOP SECRET//SI-G/TK//NOFORN", "(TS//SI-G/TK//NF)"),
    ("SECRET//SAR-BP//NOFORN", "SECRET//SAR-BP//NOFORN", "(S//SAR-BP//NF)"),
    ("SECRET//ORCON/NOFORN", "SECRET//ORCON/NOFORN", "(S//OC/NF)"),
    ("SECRET//REL TO USA, FVEY", "SECRET//REL TO USA, FVEY", "(S//REL TO USA, FVEY)"),
    (
        "SECRET//REL TO USA, JPN, ACGU",
        "SECRET//REL TO USA, JPN, ACGU",
        "(S//REL TO USA, JPN, ACGU)",
    ),
    (
        "SECRET//REL TO USA, JPN/RELIDO",
        "SECRET//REL TO USA, JPN/RELIDO",
        "(S//REL TO USA, JPN/RELIDO)",
    ),
    (
        "SECRET//REL TO USA, GBR/DISPLAY ONLY IRQ",
        "SECRET//REL TO USA, GBR/DISPLAY ONLY IRQ",
        "(S//REL TO USA, GBR/DISPLAY ONLY IRQ)",
    ),
    ("TOP SECRET//USA/GBR EYES ONLY", "TOP SECRET//USA/GBR EYES ONLY", "(TS//USA/GBR EYES)"),
    ("SECRET//NOFORN//LIMDIS", "SECRET//NOFORN//LIMDIS", "(S//NF//DS)"),
    (
        "SECRET//REL TO USA, JPN//COI ISR",
        "SECRET//REL TO USA, JPN//COI ISR",
        "(S//REL TO USA, JPN//COI ISR)",
    ),
    ("NATO SECRET", "NATO SECRET", "(NS)"),
    ("//NATO SECRET", "NATO SECRET", "(NS)"),
    ("COSMIC TOP SECRET", "COSMIC TOP SECRET", "(CTS)"),
    ("NATO RESTRICTED", "NATO RESTRICTED", "(NR)"),
    ("NATO UNCLASSIFIED", "NATO UNCLASSIFIED", "(NU)"),
    ("NATO SECRET//REL TO USA, JPN", "NATO SECRET//REL TO USA, JPN", "(NS//REL TO USA, JPN)"),
    ("JPN GOKUHI//REL TO USA, JPN", "JPN GOKUHI//REL TO USA, JPN", "(JPN GOKUHI//REL TO USA, JPN)"),
    ("極秘", "JPN GOKUHI", "(JPN GOKUHI)"),
    ("特定秘密//REL TO USA, JPN", "JPN TOKUTEI//REL TO USA, JPN", "(JPN TOKUTEI//REL TO USA, JPN)"),
    ("PHL CONFIDENTIAL", "PHL CONFIDENTIAL", "(PHL C)"),
    (
        "PHL RESTRICTED//REL TO USA, PHL",
        "PHL RESTRICTED//REL TO USA, PHL",
        "(PHL R//REL TO USA, PHL)",
    ),
    # A JPN-PHL bilateral item needs no USA when the scheme is not the US one.
    ("PHL SECRET//REL TO JPN, PHL", "PHL SECRET//REL TO JPN, PHL", "(PHL S//REL TO JPN, PHL)"),
    # Spelling variations that mean the same thing.
    ("  secret // rel to usa,jpn ", "SECRET//REL TO USA, JPN", "(S//REL TO USA, JPN)"),
    ("SECRET//NOT RELEASABLE TO FOREIGN NATIONALS", "SECRET//NOFORN", "(S//NF)"),
    ("SECRET//NF", "SECRET//NOFORN", "(S//NF)"),
]


@pytest.mark.parametrize(("text", "banner", "portion"), VALID)
def test_valid_markings_parse_and_format_canonically(text: str, banner: str, portion: str) -> None:
    marking = parse_banner(text)
    assert marking.banner() == banner
    assert marking.portion() == portion
    assert parse_banner(banner) == marking
    assert parse_banner(portion) == marking


INVALID = [
    ("", "empty marking"),
    ("(S//NF", "unbalanced parentheses in '(S//NF'"),
    ("SECRET////NOFORN", "empty category in 'SECRET////NOFORN'"),
    ("SECRETT", "unknown classification level 'SECRETT'"),
    ("RESTRICTED", "unknown classification level 'RESTRICTED'"),
    ("SECRET//NOFRON", "unknown marking 'NOFRON'"),
    ("SECRET//REL TO USA, XYZ", "unknown country code or tetragraph 'XYZ'"),
    (
        "SECRET//REL TO JPN, USA",
        "ISM-ID-00214: a REL TO list starts with USA (got REL TO JPN, USA)",
    ),
    (
        "SECRET//REL TO JPN, PHL",
        "ISM-ID-00214: a REL TO list starts with USA (got REL TO JPN, PHL)",
    ),
    (
        "SECRET//REL TO USA, PHL, JPN",
        "ISM-ID-00041: REL TO lists USA, then trigraphs A-Z, then tetragraphs A-Z "
        "(got REL TO USA, PHL, JPN; write REL TO USA, JPN, PHL)",
    ),
    (
        "SECRET//REL TO USA, FVEY, JPN",
        "ISM-ID-00041: REL TO lists USA, then trigraphs A-Z, then tetragraphs A-Z "
        "(got REL TO USA, FVEY, JPN; write REL TO USA, JPN, FVEY)",
    ),
    ("SECRET//REL TO USA, JPN, JPN", "ISM-ID-00041: REL TO USA, JPN, JPN: JPN is listed twice"),
    (
        "SECRET//NOFORN/ORCON",
        "ISM-ID-00041: dissemination controls must follow the register's order: ORCON/NOFORN",
    ),
    ("SECRET//REL TO USA", "ISM-ID-00319: REL TO needs more than one country (got USA)"),
    ("SECRET//USA EYES ONLY", "ISM-ID-00319: EYES ONLY needs more than one country (got USA)"),
    ("SECRET//REL TO", "ISM-ID-00031: REL TO needs its list of countries"),
    ("(S//REL)", "ISM-ID-00031: REL TO needs its list of countries"),
    ("SECRET//EYES ONLY", "ISM-ID-00031: EYES ONLY needs its list of countries"),
    (
        "SECRET//NOFORN/RELIDO",
        "ISM-ID-00169: NOFORN, RELIDO and DISPLAY ONLY exclude each other (got NOFORN/RELIDO)",
    ),
    (
        "SECRET//RELIDO/DISPLAY ONLY IRQ",
        "ISM-ID-00169: NOFORN, RELIDO and DISPLAY ONLY exclude each other "
        "(got RELIDO/DISPLAY ONLY)",
    ),
    ("SECRET//DISPLAY ONLY", "ISM-ID-00213: DISPLAY ONLY needs its list of countries"),
    ("UNCLASSIFIED//ORCON", "ISM-ID-00028: ORCON needs a classified level (got UNCLASSIFIED)"),
    ("CUI//USA/GBR EYES ONLY", "ISM-ID-00028: EYES ONLY needs a classified level (got CUI)"),
    ("SECRET//NOFORN/REL TO USA, JPN", "NOFORN and REL TO exclude each other"),
    ("SECRET//REL TO USA, JPN/REL TO USA, PHL", "REL TO appears twice"),
    ("SECRET//FOUO", "FOUO is only used with UNCLASSIFIED (got SECRET)"),
    ("CUI//FOUO", "FOUO is only used with UNCLASSIFIED (got CUI)"),
    ("UNCLASSIFIED//SI", "SCI and SAP controls need a classified level (got UNCLASSIFIED)"),
    ("SECRET//COI ISR/", "empty COI name in 'COI ISR/'"),
]


@pytest.mark.parametrize(("text", "message"), INVALID)
def test_invalid_markings_are_refused_with_one_line_reason(text: str, message: str) -> None:
    with pytest.raises(MarkingError) as caught:
        parse_banner(text)
    assert str(caught.value) == message
    assert "\n" not in str(caught.value)


def test_refusal_carries_the_ism_rule_id() -> None:
    with pytest.raises(MarkingError) as caught:
        parse_banner("SECRET//REL TO USA")
    assert caught.value.rule == "00319"
    with pytest.raises(MarkingError) as caught:
        parse_banner("SECRETT")
    assert caught.value.rule is None


@pytest.mark.parametrize(
    ("text", "banner"),
    [
        ("SECRET//REL TO JPN, USA", "SECRET//REL TO USA, JPN"),
        ("SECRET//REL TO USA, PHL, JPN, JPN", "SECRET//REL TO USA, JPN, PHL"),
        ("SECRET//REL TO FVEY, JPN", "SECRET//REL TO JPN, FVEY"),
        ("SECRET//NOFORN/ORCON", "SECRET//ORCON/NOFORN"),
        ("SECRET//REL TO JPN, PHL", "SECRET//REL TO JPN, PHL"),
    ],
)
def test_lenient_mode_normalises_order_where_meaning_is_unambiguous(text: str, banner: str) -> None:
    assert parse_banner(text, strict=False).banner() == banner


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("SECRET//REL TO USA", "ISM-ID-00319: REL TO needs more than one country (got USA)"),
        ("SECRET//NOFORN/RELIDO", "ISM-ID-00169"),
        ("UNCLASSIFIED//ORCON", "ISM-ID-00028"),
        ("SECRET//REL TO JPN, XYZ", "unknown country code or tetragraph 'XYZ'"),
    ],
)
def test_lenient_mode_still_refuses_real_violations(text: str, message: str) -> None:
    with pytest.raises(MarkingError, match=re.escape(message)):
        parse_banner(text, strict=False)


def test_fields_hold_levels_lists_and_expansion() -> None:
    marking = parse_banner("SECRET//REL TO USA, JPN, ACGU")
    assert (marking.level, marking.system, marking.abbrev) == ("SECRET", "US", "S")
    assert marking.rank == 3
    assert marking.rel_to == {"USA", "JPN", "ACGU"}
    assert marking.rel_to_expanded == {"USA", "JPN", "AUS", "CAN", "GBR"}
    assert marking.dissem == {"REL TO"}
    assert marking.classified and not marking.is_public
    tokutei = parse_banner("JPN TOKUTEI")
    assert (tokutei.system, tokutei.rank) == ("JPN", 3)
    assert parse_banner("UNCLASSIFIED").is_public
    assert not parse_banner("CUI").is_public
    assert not parse_banner("UNCLASSIFIED//REL TO USA, JPN").is_public


def test_markings_are_hashable_values_and_originator_is_part_of_them() -> None:
    first = parse_banner("SECRET//REL TO USA, JPN")
    second = parse_banner("(S//REL TO USA, JPN)")
    assert first == second and hash(first) == hash(second)
    from_usa = first.with_originator("USA")
    assert from_usa.originator == "USA" and first.originator is None
    assert from_usa != first
    assert from_usa.with_originator("USA") is from_usa
    table: dict[Marking, str] = {first: "a", from_usa: "b"}
    assert table[second] == "a" and table[second.with_originator("USA")] == "b"

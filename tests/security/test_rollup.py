"""Rolling many item markings up to one banner."""

from __future__ import annotations

import pytest

from allied_c2.security.markings import parse_banner, rollup
from allied_c2.security.policy import DEFAULT_POLICY

ROLLUPS = [
    ([], "UNCLASSIFIED"),
    (["UNCLASSIFIED"], "UNCLASSIFIED"),
    (["UNCLASSIFIED", "CONFIDENTIAL//REL TO USA, JPN"], "CONFIDENTIAL//REL TO USA, JPN"),
    # highest level; REL TO is the intersection of the classified parts
    (
        ["SECRET//REL TO USA, JPN, PHL", "CONFIDENTIAL//REL TO USA, JPN", "UNCLASSIFIED"],
        "SECRET//REL TO USA, JPN",
    ),
    # NOFORN anywhere makes the whole NOFORN
    (["TOP SECRET//SI//NOFORN", "SECRET//REL TO USA, JPN"], "TOP SECRET//SI//NOFORN"),
    (["CONFIDENTIAL//NOFORN", "SECRET//REL TO USA, JPN"], "SECRET//NOFORN"),
    # an intersection down to one country is NOFORN
    (["SECRET//REL TO USA, GBR", "SECRET//REL TO USA, JPN"], "SECRET//NOFORN"),
    # a classified part with no REL TO keeps the whole with its originator
    (["SECRET", "CONFIDENTIAL//REL TO USA, JPN"], "SECRET"),
    # tetragraphs: kept where every listed nation is still in, otherwise spelled out
    (["SECRET//REL TO USA, FVEY", "SECRET//REL TO USA, FVEY"], "SECRET//REL TO USA, FVEY"),
    (["SECRET//REL TO USA, FVEY", "SECRET//REL TO USA, JPN, ACGU"], "SECRET//REL TO USA, ACGU"),
    (["SECRET//REL TO USA, FVEY", "SECRET//REL TO USA, GBR, JPN"], "SECRET//REL TO USA, GBR"),
    # RELIDO only if every limiting part has it; DISPLAY ONLY likewise
    (
        ["SECRET//REL TO USA, JPN/RELIDO", "SECRET//REL TO USA, JPN, PHL/RELIDO"],
        "SECRET//REL TO USA, JPN/RELIDO",
    ),
    (["SECRET//REL TO USA, JPN/RELIDO", "SECRET//REL TO USA, JPN"], "SECRET//REL TO USA, JPN"),
    (
        ["SECRET//REL TO USA, GBR/DISPLAY ONLY IRQ", "SECRET//REL TO USA, GBR/DISPLAY ONLY IRQ"],
        "SECRET//REL TO USA, GBR/DISPLAY ONLY IRQ",
    ),
    # SCI, SAP, other controls and COIs accumulate; FOUO gives way to a classified level
    (
        [
            "SECRET//SI//REL TO USA, JPN",
            "TOP SECRET//TK//REL TO USA, JPN//COI ISR",
            "UNCLASSIFIED//FOUO",
        ],
        "TOP SECRET//SI/TK//REL TO USA, JPN//COI ISR",
    ),
    (["SECRET//ORCON/NOFORN", "SECRET//SAR-BP//NOFORN"], "SECRET//SAR-BP//ORCON/NOFORN"),
    (["CUI", "UNCLASSIFIED//FOUO"], "CUI"),
    (["CUI//REL TO USA, JPN", "CUI//REL TO USA, JPN, PHL"], "CUI//REL TO USA, JPN"),
    # one scheme keeps its level names; mixed schemes roll up to the common scheme,
    # at or above the rank (the common scheme has no RESTRICTED)
    (["NATO SECRET", "NATO CONFIDENTIAL"], "NATO SECRET"),
    (["NATO SECRET//REL TO USA, JPN", "SECRET//REL TO USA, JPN, PHL"], "SECRET//REL TO USA, JPN"),
    (["NATO RESTRICTED", "PHL RESTRICTED"], "CONFIDENTIAL//NOFORN"),
    (
        ["JPN GOKUHI//REL TO USA, JPN", "JPN HI//REL TO USA, JPN, PHL"],
        "JPN GOKUHI//REL TO USA, JPN",
    ),
    (["NATO UNCLASSIFIED", "CUI"], "CUI"),
]


@pytest.mark.parametrize(("parts", "banner"), ROLLUPS)
def test_rollup(parts: list[str], banner: str) -> None:
    whole = rollup([parse_banner(part) for part in parts], DEFAULT_POLICY)
    assert whole.banner() == banner
    assert parse_banner(whole.banner(), strict=False) == whole.with_originator(None)


def test_rollup_keeps_a_common_originator_only() -> None:
    usa = parse_banner("SECRET//REL TO USA, JPN").with_originator("USA")
    jpn = parse_banner("SECRET//REL TO USA, JPN").with_originator("JPN")
    assert rollup([usa, usa]).originator == "USA"
    assert rollup([usa, jpn]).originator is None


def test_rollup_to_a_single_foreign_nation_is_noforn_for_that_nation() -> None:
    jpn = parse_banner("SECRET//REL TO JPN, PHL", strict=False).with_originator("JPN")
    other = parse_banner("SECRET//REL TO GBR, JPN", strict=False).with_originator("JPN")
    whole = rollup([jpn, other])
    assert whole.banner() == "SECRET//NOFORN"
    assert whole.originator == "JPN"

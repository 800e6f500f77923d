"""How markings are shown: the colour class comes from the level's common-lattice rank."""

from __future__ import annotations

import tomllib
from importlib import resources
from typing import Any

import pytest

from allied_c2.security.display import (
    DISPLAY_CLASSES,
    FAIL_CLOSED_CLASS,
    display_class,
    marking_json,
)
from allied_c2.security.markings import Marking, parse_banner, rollup
from allied_c2.security.policy import DEFAULT_POLICY, policy_from_dict

CLASSES = [
    ("UNCLASSIFIED", "mk-u"),
    ("UNCLASSIFIED//FOUO", "mk-u"),
    ("CUI", "mk-cui"),
    ("CONFIDENTIAL", "mk-c"),
    ("SECRET//REL TO USA, JPN", "mk-s"),
    ("TOP SECRET", "mk-ts"),
    ("TOP SECRET//SI/TK//NOFORN", "mk-ts-sci"),
    ("SECRET//SI//NOFORN", "mk-s"),  # yellow is for TOP SECRET with SCI only
    # NATO
    ("NATO UNCLASSIFIED", "mk-cui"),
    ("NATO RESTRICTED", "mk-r"),
    ("NATO CONFIDENTIAL", "mk-c"),
    ("NATO SECRET", "mk-s"),
    ("COSMIC TOP SECRET", "mk-ts"),
    # Japan, in every spelling the shipped policy accepts
    ("JPN HI", "mk-c"),
    ("秘", "mk-c"),
    ("JPN JUKEI", "mk-c"),
    ("JPN GOKUHI//REL TO USA, JPN", "mk-s"),
    ("極秘", "mk-s"),
    ("特定秘密", "mk-s"),  # the shipped table maps TOKUTEI to SECRET
    ("JPN KIMITSU", "mk-ts"),
    ("機密", "mk-ts"),
    # the Philippines
    ("PHL RESTRICTED", "mk-r"),
    ("PHL CONFIDENTIAL", "mk-c"),
    ("PHL SECRET", "mk-s"),
    ("PHL TOP SECRET", "mk-ts"),
]


@pytest.mark.parametrize(("banner", "expected"), CLASSES)
def test_display_class_follows_the_common_lattice(banner: str, expected: str) -> None:
    marking = parse_banner(banner, strict=False)
    assert display_class(marking) == expected
    assert expected in DISPLAY_CLASSES


def test_every_shipped_level_has_a_class_from_its_equivalent() -> None:
    for system in DEFAULT_POLICY.systems.values():
        for level in system.levels:
            marking = parse_banner(level.name)
            assert marking.equivalent == DEFAULT_POLICY.lattice[level.rank], level
            if level.rank == 0:
                expected = "mk-cui" if level.controlled else "mk-u"
            else:
                expected = ("mk-r", "mk-c", "mk-s", "mk-ts")[level.rank - 1]
            assert display_class(marking) == expected, level


def test_rollups_are_coloured_by_their_level() -> None:
    # Mixed schemes at SECRET roll up to the common SECRET; one scheme keeps its own name.
    mixed = rollup([parse_banner("NATO SECRET"), parse_banner("JPN GOKUHI//REL TO USA, JPN")])
    assert mixed.level == "SECRET" and display_class(mixed) == "mk-s"
    alone = rollup([parse_banner("JPN HI"), parse_banner("UNCLASSIFIED")])
    assert alone.banner() == "JPN HI" and display_class(alone) == "mk-c"
    assert display_class(rollup([])) == "mk-u"


def test_unknown_lattice_level_is_shown_fail_closed() -> None:
    # A hand-built marking knows no lattice level; a policy's own lattice names have no colour.
    assert display_class(Marking("SECRET", 3)) == FAIL_CLOSED_CLASS
    text = resources.files("allied_c2").joinpath("config/security-policy.toml").read_text("utf-8")
    data: dict[str, Any] = tomllib.loads(text)
    data["lattice"] = ["UNCLASSIFIED", "OFFICIAL", "RESTRICTED", "CONFIDENTIAL", "SECRET"]
    data["systems"]["US"]["levels"].append(
        {"name": "OFFICIAL", "portion": "O", "equivalent": "OFFICIAL"}
    )
    for system in data["systems"].values():
        for level in system["levels"]:
            if level["equivalent"] == "TOP SECRET":
                level["equivalent"] = "SECRET"
    policy = policy_from_dict(data)
    assert display_class(parse_banner("OFFICIAL", policy)) == FAIL_CLOSED_CLASS
    assert display_class(parse_banner("TOP SECRET", policy)) == "mk-s"  # as its equivalent


def test_marking_json_carries_what_the_page_shows() -> None:
    marking = parse_banner("秘").with_originator("JPN")
    assert marking_json(marking) == {
        "banner": "JPN HI",
        "portion": "(JPN HI)",
        "class": "mk-c",
        "originator": "JPN",
    }

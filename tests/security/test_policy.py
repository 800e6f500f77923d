"""The security policy: shipped default, clearance naming and configuration errors."""

from __future__ import annotations

import copy
import re
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from allied_c2.security.levels import MarkingError, PolicyError
from allied_c2.security.markings import parse_banner
from allied_c2.security.policy import DEFAULT_POLICY, load_policy, policy_from_dict


def shipped() -> dict[str, Any]:
    text = resources.files("allied_c2").joinpath("config/security-policy.toml").read_text("utf-8")
    return tomllib.loads(text)


def test_shipped_default_equivalences() -> None:
    rank = {name: DEFAULT_POLICY.level(name).rank for name in DEFAULT_POLICY.tokens}
    assert rank["UNCLASSIFIED"] < rank["CONFIDENTIAL"] < rank["SECRET"] < rank["TOP SECRET"]
    assert rank["NATO UNCLASSIFIED"] < rank["NATO RESTRICTED"] < rank["NATO CONFIDENTIAL"]
    assert rank["NATO CONFIDENTIAL"] < rank["NATO SECRET"] < rank["COSMIC TOP SECRET"]
    assert rank["NATO SECRET"] == rank["SECRET"] and rank["COSMIC TOP SECRET"] == rank["TOP SECRET"]
    assert rank["秘"] == rank["CONFIDENTIAL"]
    assert rank["極秘"] == rank["SECRET"]
    assert rank["機密"] == rank["TOP SECRET"]
    assert rank["特定秘密"] == rank["SECRET"]
    assert rank["PHL RESTRICTED"] == rank["NATO RESTRICTED"]
    assert rank["PHL CONFIDENTIAL"] == rank["CONFIDENTIAL"]
    assert rank["PHL TOP SECRET"] == rank["TOP SECRET"]
    assert DEFAULT_POLICY.level("CUI").controlled and not DEFAULT_POLICY.level("U").controlled
    assert DEFAULT_POLICY.expand(["FVEY"]) == {"AUS", "CAN", "GBR", "NZL", "USA"}
    assert DEFAULT_POLICY.expand(["ACGU", "JPN"]) == {"AUS", "CAN", "GBR", "USA", "JPN"}
    assert len(DEFAULT_POLICY.expand(["NATO"])) == 32
    assert {"USA", "JPN", "PHL"} <= DEFAULT_POLICY.countries
    assert DEFAULT_POLICY.default_marking == parse_banner("UNCLASSIFIED")
    assert DEFAULT_POLICY.cui_without_rel_to == "originator"


@pytest.mark.parametrize(
    ("clearance", "nation", "level"),
    [
        ("SECRET", "USA", "SECRET"),
        ("SECRET", "JPN", "SECRET"),  # no JPN level is called SECRET: the common one
        ("CONFIDENTIAL", "PHL", "PHL CONFIDENTIAL"),  # own national scheme first
        ("PHL:CONFIDENTIAL", "PHL", "PHL CONFIDENTIAL"),
        ("JPN:GOKUHI", "JPN", "JPN GOKUHI"),
        ("GOKUHI", "JPN", "JPN GOKUHI"),
        ("jpn:hi", "JPN", "JPN HI"),
        ("NATO SECRET", "GBR", "NATO SECRET"),
        ("NATO:TOP SECRET", "GBR", "COSMIC TOP SECRET"),
        ("US:SECRET", "JPN", "SECRET"),
        ("UNCLASSIFIED", None, "UNCLASSIFIED"),
        ("TOP SECRET", "PHL", "PHL TOP SECRET"),
    ],
)
def test_clearance_naming(clearance: str, nation: str | None, level: str) -> None:
    assert DEFAULT_POLICY.clearance_level(clearance, nation).name == level


def test_unknown_clearance_is_an_error() -> None:
    with pytest.raises(MarkingError, match="unknown clearance 'SEKRET'"):
        DEFAULT_POLICY.clearance_level("SEKRET", "USA")


def test_load_policy_from_file_changes_equivalence(tmp_path: Path) -> None:
    data = shipped()
    text = resources.files("allied_c2").joinpath("config/security-policy.toml").read_text("utf-8")
    changed = text.replace(
        '{ name = "JPN TOKUTEI", portion = "JPN TOKUTEI", equivalent = "SECRET"',
        '{ name = "JPN TOKUTEI", portion = "JPN TOKUTEI", equivalent = "TOP SECRET"',
    )
    assert changed != text
    path = tmp_path / "policy.toml"
    path.write_text(changed, encoding="utf-8")
    policy = load_policy(path)
    assert policy.level("JPN TOKUTEI").rank == policy.level("TOP SECRET").rank
    assert parse_banner("JPN TOKUTEI", policy).rank == 4
    assert load_policy(None).level("JPN TOKUTEI").rank == 3
    assert data["default_marking"] == "UNCLASSIFIED"


def _broken(change: Any) -> dict[str, Any]:
    data = copy.deepcopy(shipped())
    change(data)
    return data


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(lattice=["SECRET"]), "lattice must list at least two"),
        (
            lambda d: d["systems"]["JPN"]["levels"][0].update(equivalent="SUPER SECRET"),
            "systems.JPN.levels[0]: equivalent 'SUPER SECRET' is not in the lattice",
        ),
        (
            lambda d: d["systems"]["PHL"]["levels"][0].update(portion="S"),
            "systems.PHL.levels[0]: 'S' already names SECRET",
        ),
        (
            lambda d: d["tetragraphs"].update(ACGU=["AUS", "XXX"]),
            "tetragraphs.ACGU: unknown countries XXX",
        ),
        (lambda d: d.update(cui_without_rel_to="maybe"), "cui_without_rel_to must be one of"),
        (lambda d: d.update(common_system="ROK"), "common_system 'ROK' is not a defined system"),
        (
            lambda d: d["systems"]["NATO"].update(issuers=["NATOX"]),
            "unknown country code or tetragraph 'NATOX'",
        ),
    ],
)
def test_malformed_policy_is_refused(change: Any, message: str) -> None:
    with pytest.raises(PolicyError, match=re.escape(message)):
        policy_from_dict(_broken(change))


def test_unreadable_or_invalid_policy_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot read security policy"):
        load_policy(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("lattice = [", encoding="utf-8")
    with pytest.raises(PolicyError, match=str(bad)):
        load_policy(bad)


def test_bad_default_marking_is_reported_when_used() -> None:
    policy = policy_from_dict(_broken(lambda d: d.update(default_marking="SECRET//REL TO USA")))
    with pytest.raises(PolicyError, match="default_marking 'SECRET//REL TO USA': ISM-ID-00319"):
        _ = policy.default_marking

"""Loading scenarios: shipped files, parameters and overrides, line tracking, YAML round trip."""

from __future__ import annotations

from pathlib import Path

import pytest

from allied_c2.alliance.located import parse
from allied_c2.alliance.model import OrgKind, Relation, Structure
from allied_c2.alliance.scenario import (
    ScenarioError,
    dump_structure,
    load_scenario_text,
    load_structure,
)
from allied_c2.alliance.validation import validate

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
SHIPPED = ["alliance-2024.yaml", "alliance-jfhq.yaml", "trilateral-hadr.yaml"]


def deciders(structure: Structure, kind: str, nation: str) -> list[tuple[str, str | None]]:
    return [
        (a.decider, a.delegated_from)
        for a in structure.authorities
        if a.request_kind == kind and a.nation == nation
    ]


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_scenario_is_clean_and_sized(name: str) -> None:
    path = SCENARIOS / name
    assert validate(path) == []
    structure = load_structure(path)
    assert 50 <= len(structure.organisations) <= 150
    for kind in (
        "bilateral_exercise_change",
        "isr_support",
        "airlift_disaster_relief",
        "force_deployment_within_japan",
        "logistics_support",
    ):
        assert kind in structure.request_kinds
    markings = {o.marking for o in structure.organisations.values()}
    assert {"SECRET//NOFORN", "SECRET//REL TO USA, JPN", None} <= markings
    assert any(o.synthetic for o in structure.organisations.values())


@pytest.mark.parametrize("name", ["alliance-jfhq.yaml", "trilateral-hadr.yaml"])
def test_every_parameter_variant_of_shipped_scenarios_loads(name: str) -> None:
    for delegation in ("none", "partial", "full"):
        for grade in ("O-9", "O-10"):
            s = load_structure(
                SCENARIOS / name, {"delegation": delegation, "jfhq_commander_grade": grade}
            )
            assert s.parameters == {"jfhq_commander_grade": grade, "delegation": delegation}
            assert s.org("usfj").commander_grade == grade


def test_2024_japanese_bilateral_requests_are_decided_in_hawaii() -> None:
    s = load_structure(SCENARIOS / "alliance-2024.yaml")
    assert deciders(s, "bilateral_exercise_change", "USA") == [("indopacom", None)]
    assert s.org("indopacom").timezone == "Pacific/Honolulu"
    assert s.org("js").timezone == "Asia/Tokyo"
    assert set(s.counterparts("js")) == {"indopacom", "usfj"}
    # USFJ is sub-unified without operational command: it commands no forces.
    assert s.children("usfj") == ["usfj_j2"]
    assert s.command_parent("c7f") == "pacflt"
    assert s.org("usfj").kind is OrgKind.JOINT_COMMAND


def test_delegation_parameter_changes_the_authorities() -> None:
    path = SCENARIOS / "alliance-jfhq.yaml"
    none = load_structure(path, {"delegation": "none"})
    partial = load_structure(path)  # default: partial, O-9
    full = load_structure(path, {"delegation": "full"})
    kind = "bilateral_exercise_change"
    assert deciders(none, kind, "USA") == [("indopacom", None)]
    assert deciders(partial, kind, "USA") == [("usfj", "indopacom")]
    assert deciders(full, "airlift_disaster_relief", "USA") == [("usfj", "indopacom")]
    assert deciders(partial, "airlift_disaster_relief", "USA") == [("indopacom", None)]
    assert deciders(partial, kind, "JPN") == [("jjoc", None)]
    assert partial.counterparts("jjoc") == ["usfj"]
    # Full delegation also gives the JFHQ tactical control of the forces in Japan.
    tacon = {
        r.subordinate
        for r in full.relationships
        if r.superior == "usfj" and r.relation is Relation.TACON
    }
    assert tacon == {"c7f", "iiimef", "5af", "usarj"}
    assert not [
        r for r in partial.relationships if r.relation is Relation.TACON and r.superior == "usfj"
    ]


def test_grade_parameter_changes_deployment_authority() -> None:
    path = SCENARIOS / "alliance-jfhq.yaml"
    kind = "force_deployment_within_japan"
    three_star = load_structure(path, {"jfhq_commander_grade": "O-9"})
    four_star = load_structure(path, {"jfhq_commander_grade": "O-10"})
    assert deciders(three_star, kind, "USA") == [("indopacom", None)]
    assert deciders(four_star, kind, "USA") == [("usfj", "indopacom")]
    assert four_star.org("usfj").commander_grade == "O-10"


def test_trilateral_has_the_philippines_and_an_exercise() -> None:
    s = load_structure(SCENARIOS / "trilateral-hadr.yaml")
    assert {o.nation for o in s.organisations.values()} == {"USA", "JPN", "PHL", "MULTI"}
    assert s.chain_of_command("7id") == ["7id", "nolcom", "afp", "dnd", "phl_president"]
    assert s.org("wescom").timezone == "Asia/Manila"
    assert set(s.counterparts("afp")) == {"indopacom", "jjoc"}
    assert s.exercise is not None and s.exercise.start == "2025-11-10T00:00:00Z"
    assert {w.request_kind for w in s.exercise.workload} >= {
        "airlift_disaster_relief",
        "logistics_support",
        "isr_support",
    }
    assert "foreign_military_assistance" in s.request_kinds


def test_bad_overrides_are_scenario_errors() -> None:
    path = SCENARIOS / "alliance-jfhq.yaml"
    with pytest.raises(ScenarioError) as unknown:
        load_structure(path, {"delegaton": "full"})
    assert "unknown parameter 'delegaton'" in unknown.value.problems[0].message
    with pytest.raises(ScenarioError) as bad:
        load_structure(path, {"delegation": "most"})
    assert bad.value.problems[0].message == (
        "parameter 'delegation' has no choice 'most' (choices: none, partial, full)"
    )


def test_broken_file_raises_with_every_problem() -> None:
    text = (SCENARIOS / "alliance-2024.yaml").read_text(encoding="utf-8")
    text = text.replace("timezone: Pacific/Honolulu", "timezone: Pacific/Honolulou")
    with pytest.raises(ScenarioError) as err:
        load_scenario_text(text, "x.yaml")
    assert len(err.value.problems) == text.count("Pacific/Honolulou")
    assert all(p.message == "unknown time zone 'Pacific/Honolulou'" for p in err.value.problems)


def test_line_numbers_are_kept_for_every_node() -> None:
    doc = parse("a: 1\nlist:\n  - {x: 2}\n  - y: 3\n    z: [4, 5]\n")
    assert doc.lines[("a",)] == 1
    assert doc.lines[("list", 0, "x")] == 3
    assert doc.lines[("list", 1, "z", 1)] == 5
    assert doc.key_lines[("list", 1, "z")] == 5


def test_string_overrides_are_coerced_like_the_cli_gives_them() -> None:
    text = (
        "name: t\nparameters:\n  hours: {default: 24}\nrequest_kinds:\n  - {id: k, title: K}\n"
        "organisations:\n  - {id: a, name: A, nation: USA, kind: unit, echelon: x, timezone: UTC}\n"
        'authorities:\n  - {request_kind: k, nation: USA, decider: a, max_hours: "${hours}"}\n'
    )
    assert load_scenario_text(text, "t", {"hours": "6"}).authorities[0].max_hours == 6.0
    assert load_scenario_text(text, "t").authorities[0].max_hours == 24.0


@pytest.mark.parametrize("name", SHIPPED)
def test_yaml_dump_round_trip(name: str) -> None:
    original = load_structure(
        SCENARIOS / name, {"delegation": "full"} if name != SHIPPED[0] else None
    )
    again = load_scenario_text(dump_structure(original), "dumped.yaml")
    assert again == original

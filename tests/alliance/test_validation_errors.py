"""Every validation error kind, from broken scenario text, with exact message and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from allied_c2.alliance.validation import Problem, validate, validate_text

BASE = """\
name: test
marking: UNCLASSIFIED
parameters:
  delegation: {default: none, choices: [none, full]}
request_kinds:
  - {id: exercise_change, title: Exercise change, bilateral: true}
  - {id: logistics, title: Logistics}
organisations:
  - {id: pacom, name: Pacific Command, nation: USA, kind: combatant_command,
     echelon: command, timezone: Pacific/Honolulu, location: {lat: 21.39, lon: -157.91},
     counterparts: [jstaff]}
  - {id: jfhq, name: Joint Force HQ, nation: USA, kind: joint_force_hq, echelon: command,
     timezone: Asia/Tokyo}
  - {id: wing, name: Air Wing, nation: USA, kind: unit, echelon: wing, timezone: Asia/Tokyo,
     marking: "SECRET//REL TO USA, JPN"}
  - {id: jstaff, name: Joint Staff, nation: JPN, kind: joint_command, echelon: command,
     timezone: Asia/Tokyo, counterparts: [pacom]}
  - {id: fleet, name: Fleet, nation: JPN, kind: component, echelon: fleet, timezone: Asia/Tokyo}
relationships:
  - {superior: pacom, subordinate: jfhq, relation: OPCON}
  - {superior: pacom, subordinate: wing, relation: OPCON}
  - {superior: jfhq, subordinate: wing, relation: TACON, when: {delegation: full}}
  - {superior: jstaff, subordinate: fleet, relation: OPCON}
authorities:
  - {request_kind: exercise_change, nation: USA, decider: pacom, consult_counterpart: true}
  - {request_kind: exercise_change, nation: JPN, decider: jstaff, consult_counterpart: true}
  - {request_kind: logistics, nation: USA, decider: jfhq, forces: [wing], delegated_from: pacom}
"""


def line_of(text: str, needle: str) -> int:
    """1-based line of the only line containing ``needle``."""
    hits = [n for n, line in enumerate(text.splitlines(), 1) if needle in line]
    assert len(hits) == 1, (needle, hits)
    return hits[0]


def problems_of(text: str) -> list[Problem]:
    return validate_text(text, "s.yaml")


def assert_problem(text: str, needle: str, message: str) -> Problem:
    problems = problems_of(text)
    line = line_of(text, needle)
    matching = [p for p in problems if p.message == message]
    assert matching, f"{message!r} not in {[p.message for p in problems]}"
    assert matching[0].line == line, (matching[0], line)
    assert matching[0].file == "s.yaml" and matching[0].fix
    return matching[0]


def test_base_is_clean() -> None:
    assert problems_of(BASE) == []


def test_yaml_syntax_error() -> None:
    text = BASE.replace("  - {id: fleet,", "  - {id: fleet: [,")
    problems = problems_of(text)
    assert len(problems) == 1
    assert problems[0].message.startswith("YAML syntax error")
    assert problems[0].line == line_of(text, "id: fleet:")


def test_duplicate_yaml_key() -> None:
    text = BASE.replace("marking: UNCLASSIFIED\n", "marking: UNCLASSIFIED\nmarking: SECRET\n")
    assert_problem(text, "marking: SECRET", "duplicate key 'marking' (first at line 2)")


def test_schema_unknown_field_points_at_the_key() -> None:
    text = BASE.replace("{id: fleet, name: Fleet,", "{id: fleet, nme: Fleet,")
    p = assert_problem(text, "nme: Fleet", "organisations[4]: unknown field 'nme'")
    assert "did you mean 'name'" in p.fix
    assert "organisations[4]: 'name' is a required property" in [
        x.message for x in problems_of(text)
    ]


def test_schema_bad_enum() -> None:
    text = BASE.replace("kind: component", "kind: brigade")
    message = (
        "organisations[4].kind: 'brigade' is not one of ['national_authority', "
        "'combatant_command', 'joint_command', 'joint_force_hq', 'component', 'unit', "
        "'coordination_body']"
    )
    assert_problem(text, "kind: brigade", message)


def test_schema_bad_relation_name() -> None:
    text = BASE.replace(
        "subordinate: fleet, relation: OPCON", "subordinate: fleet, relation: OPCOM"
    )
    p = problems_of(text)
    assert any(x.message.startswith("relationships[3].relation: 'OPCOM' is not one of") for x in p)


def test_duplicate_organisation_id() -> None:
    text = BASE.replace("{id: fleet, name: Fleet", "{id: wing, name: Fleet")
    assert_problem(
        text, "name: Fleet", "duplicate organisation id 'wing' (first defined at line 14)"
    )


def test_duplicate_request_kind() -> None:
    text = BASE.replace("{id: logistics, title: Logistics}", "{id: exercise_change, title: Again}")
    assert_problem(
        text, "title: Again", "duplicate request kind 'exercise_change' (first defined at line 6)"
    )


def test_unknown_relationship_ids() -> None:
    text = BASE.replace(
        "{superior: jstaff, subordinate: fleet", "{superior: jstafff, subordinate: flet"
    )
    p = assert_problem(
        text, "jstafff", "relationship superior 'jstafff' is not a defined organisation"
    )
    assert "did you mean 'jstaff'" in p.fix
    assert_problem(text, "jstafff", "relationship subordinate 'flet' is not a defined organisation")


def test_self_relation() -> None:
    text = BASE.replace(
        "{superior: jstaff, subordinate: fleet", "{superior: fleet, subordinate: fleet"
    )
    assert_problem(
        text, "superior: fleet, subordinate: fleet", "organisation 'fleet' is related to itself"
    )


def test_command_cycle() -> None:
    text = BASE.replace(
        "relationships:\n",
        "relationships:\n  - {superior: wing, subordinate: pacom, relation: ADCON}\n",
    )
    assert_problem(
        text, "superior: wing, subordinate: pacom", "command cycle: pacom -> wing -> pacom"
    )


def test_cycle_in_one_parameter_variant_only() -> None:
    text = BASE.replace(
        "relationships:\n",
        "relationships:\n  - {superior: wing, subordinate: jfhq, relation: ADCON,"
        " when: {delegation: full}}\n",
    )
    assert_problem(text, "superior: wing, subordinate: jfhq", "command cycle: jfhq -> wing -> jfhq")


def test_two_opcon_parents_in_one_nation() -> None:
    text = BASE.replace("relation: TACON, when: {delegation: full}", "relation: OPCON")
    assert_problem(
        text,
        "superior: jfhq, subordinate: wing",
        "organisation 'wing' has two OPCON superiors in USA: 'pacom' and 'jfhq'",
    )


def test_opcon_parents_of_two_nations_are_allowed() -> None:
    text = BASE.replace(
        "relationships:\n",
        "relationships:\n  - {superior: jstaff, subordinate: wing, relation: OPCON}\n",
    )
    assert not [p for p in problems_of(text) if "two OPCON" in p.message]


def test_counterpart_not_mutual() -> None:
    text = BASE.replace("timezone: Asia/Tokyo, counterparts: [pacom]}", "timezone: Asia/Tokyo}")
    assert_problem(
        text,
        "counterparts: [jstaff]",
        "counterpart 'jstaff' of 'pacom' does not name 'pacom' as its counterpart",
    )


def test_counterpart_relationship_declared_one_way_only() -> None:
    text = BASE.replace(
        "relationships:\n",
        "relationships:\n  - {superior: fleet, subordinate: wing, relation: COUNTERPART}\n",
    )
    assert_problem(
        text,
        "subordinate: wing, relation: COUNTERPART",
        "counterpart 'wing' of 'fleet' does not name 'fleet' as its counterpart",
    )


def test_counterparts_of_one_nation() -> None:
    text = BASE.replace(
        "{id: jstaff, name: Joint Staff, nation: JPN", "{id: jstaff, name: Joint Staff, nation: USA"
    )
    assert_problem(
        text,
        "counterparts: [jstaff]",
        "counterparts 'pacom' and 'jstaff' are both USA; counterparts must be of different nations",
    )


def test_unknown_counterpart() -> None:
    text = BASE.replace("counterparts: [jstaff]", "counterparts: [jstaff, nobody]")
    assert_problem(text, "nobody", "counterpart 'nobody' of 'pacom' is not a defined organisation")


def test_unknown_time_zone() -> None:
    text = BASE.replace(
        "echelon: fleet, timezone: Asia/Tokyo", "echelon: fleet, timezone: Asia/Tokio"
    )
    p = assert_problem(text, "Asia/Tokio", "unknown time zone 'Asia/Tokio'")
    assert "did you mean 'Asia/Tokyo'" in p.fix


def test_coordinates_out_of_range() -> None:
    text = BASE.replace("{lat: 21.39, lon: -157.91}", "{lat: 121.39, lon: -257.91}")
    assert_problem(text, "lat: 121.39", "latitude 121.39 is out of range [-90, 90]")
    assert_problem(text, "lat: 121.39", "longitude -257.91 is out of range [-180, 180]")


def test_rule_that_points_nowhere() -> None:
    text = BASE.replace(
        "decider: jfhq, forces: [wing], delegated_from: pacom",
        "decider: jfhqq, forces: [wing, wingg], delegated_from: pacomm",
    )
    assert_problem(text, "jfhqq", "decider 'jfhqq' is not a defined organisation")
    assert_problem(text, "jfhqq", "forces entry 'wingg' is not a defined organisation")
    assert_problem(text, "jfhqq", "delegated_from 'pacomm' is not a defined organisation")


def test_decider_of_another_nation() -> None:
    text = BASE.replace("nation: JPN, decider: jstaff", "nation: JPN, decider: pacom")
    assert_problem(
        text, "nation: JPN, decider: pacom", "decider 'pacom' is USA but the rule is for JPN"
    )


def test_consulting_decider_without_counterpart() -> None:
    text = BASE.replace("decider: jfhq, forces", "decider: jfhq, consult_counterpart: true, forces")
    assert_problem(text, "decider: jfhq", "decider 'jfhq' has no counterpart to consult")


def test_rule_for_unknown_kind_and_kind_without_rule() -> None:
    text = BASE.replace(
        "request_kind: logistics, nation: USA", "request_kind: logistic, nation: USA"
    )
    p = assert_problem(
        text, "request_kind: logistic,", "decision authority for unknown request kind 'logistic'"
    )
    assert "did you mean 'logistics'" in p.fix
    assert_problem(
        text, "title: Logistics", "request kind 'logistics' is used by no decision authority"
    )


def test_bad_marking() -> None:
    text = BASE.replace('"SECRET//REL TO USA, JPN"', '"SECRET//REL TO JPN, USA"')
    problems = problems_of(text)
    bad = [p for p in problems if p.message.startswith("bad marking 'SECRET//REL TO JPN, USA'")]
    assert len(bad) == 1 and bad[0].line == line_of(text, "REL TO JPN, USA")
    text = BASE.replace("marking: UNCLASSIFIED", "marking: SEKRET")
    assert [p.line for p in problems_of(text) if p.message.startswith("bad marking 'SEKRET'")] == [
        2
    ]


def test_parameter_problems() -> None:
    text = BASE.replace("{id: fleet, name: Fleet", '{id: fleet, name: "Fleet ${fleet_name}"')
    assert_problem(text, "fleet_name", "unknown parameter 'fleet_name' in '${fleet_name}'")
    text = BASE.replace("when: {delegation: full}", "when: {delegaton: full}")
    p = assert_problem(text, "delegaton", "when: unknown parameter 'delegaton'")
    assert "did you mean 'delegation'" in p.fix
    text = BASE.replace("when: {delegation: full}", "when: {delegation: [full, most]}")
    assert_problem(text, "most", "when: parameter 'delegation' has no choice 'most'")
    text = BASE.replace("{default: none, choices", "{default: some, choices")
    assert_problem(
        text, "default: some", "parameter 'delegation' default 'some' is not one of its choices"
    )


def test_exercise_references() -> None:
    text = BASE + (
        "exercise:\n  name: x\n  positions:\n    - {org: wingz, lat: 95, lon: 1}\n"
        "  workload:\n    - {request_kind: isr, per_day: 2, originators: [fleet]}\n"
    )
    assert_problem(text, "wingz", "exercise position org 'wingz' is not a defined organisation")
    assert_problem(text, "wingz", "latitude 95 is out of range [-90, 90]")
    assert_problem(text, "request_kind: isr", "workload for unknown request kind 'isr'")


def test_every_problem_is_reported_not_just_the_first(tmp_path: Path) -> None:
    text = (
        BASE.replace("wing, timezone: Asia/Tokyo", "wing, timezone: Asia/Tokio")
        .replace("{lat: 21.39", "{lat: 91.0")
        .replace("decider: jfhq, forces", "decider: ghost, forces")
        .replace("timezone: Asia/Tokyo, counterparts: [pacom]}", "timezone: Asia/Tokyo}")
    )
    path = tmp_path / "broken.yaml"
    path.write_text(text, encoding="utf-8")
    messages = [p.message for p in validate(path)]
    assert "unknown time zone 'Asia/Tokio'" in messages
    assert "latitude 91.0 is out of range [-90, 90]" in messages
    assert "decider 'ghost' is not a defined organisation" in messages
    assert any("does not name 'pacom'" in m for m in messages)
    assert all(str(p).startswith(f"{path}:") for p in validate(path))


def test_problem_renders_file_line_message_fix() -> None:
    p = Problem("a.yaml", 3, "something is wrong", "do the right thing")
    assert str(p) == "a.yaml:3: something is wrong (fix: do the right thing)"


@pytest.mark.parametrize("text", ["", "- just\n- a list\n"])
def test_empty_or_non_mapping_file(text: str) -> None:
    assert problems_of(text)

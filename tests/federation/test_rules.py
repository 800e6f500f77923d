"""Sanitisation rules files: TOML and YAML, every problem with its line."""

from __future__ import annotations

import pytest

from allied_c2.federation.rules import RulesError, load_rules
from allied_c2.security.policy import DEFAULT_POLICY
from tests.federation.helpers import event, marking

GOOD_TOML = """\
[[rules]]
name = "jpn-tracks"
types = ["a-h-*"]
markings = ["SECRET//NOFORN"]
drop = ["remarks", "__video", "link"]
coarsen_m = 1000
callsign = "US UNIT"
release_as = "CONFIDENTIAL//REL TO USA, JPN"

[[rules]]
name = "no-remarks"
drop = ["remarks"]
"""

GOOD_YAML = """\
rules:
  - name: jpn-tracks
    types: [a-h-*]
    markings: [SECRET//NOFORN]
    coarsen_m: 1000
    release_as: CONFIDENTIAL//REL TO USA, JPN
"""


def test_a_toml_file_loads_in_order() -> None:
    rules = load_rules(GOOD_TOML, "jpn.toml", DEFAULT_POLICY)
    first, second = rules.rules
    assert first.name == "jpn-tracks" and first.coarsen_m == 1000.0
    assert first.drop == frozenset({"remarks", "__video", "link"})
    assert (
        first.release_as is not None
        and first.release_as.banner() == "CONFIDENTIAL//REL TO USA, JPN"
    )
    assert rules.digest and rules.source == "jpn.toml"
    noforn = marking("SECRET", "NOFORN")
    assert rules.first_match(event(cot_type="a-h-G"), noforn) is first
    assert rules.first_match(event(cot_type="a-f-G"), noforn) is second  # types do not match
    assert rules.first_match(event(cot_type="a-h-G"), marking("SECRET")) is second


def test_a_yaml_file_loads() -> None:
    (rule,) = load_rules(GOOD_YAML, "jpn.yaml", DEFAULT_POLICY).rules
    assert rule.types == ("a-h-*",) and rule.markings[0].banner() == "SECRET//NOFORN"


def _problems(text: str, source: str) -> list[str]:
    with pytest.raises(RulesError) as raised:
        load_rules(text, source, DEFAULT_POLICY)
    return [str(p) for p in raised.value.problems]


def test_toml_problems_name_their_lines() -> None:
    text = """\
[[rules]]
name = "one"
coarsen = 1000
release_as = "CONFIDENTIAL//REL TO USA, JPN"

[[rules]]
name = "one"
markings = ["SECRET//NOFORM"]
coarsen_m = -5
"""
    problems = _problems(text, "bad.toml")
    assert any(
        p.startswith("bad.toml:3: unknown key 'coarsen' (did you mean 'coarsen_m'?)")
        for p in problems
    )
    assert any(p.startswith("bad.toml:4:") and "names no 'markings'" in p for p in problems)
    assert any(p.startswith("bad.toml:7:") and "used twice" in p for p in problems)
    assert any(p.startswith("bad.toml:8:") and "SECRET//NOFORM" in p for p in problems)
    assert any(p.startswith("bad.toml:9:") and "coarsen_m" in p for p in problems)


def test_yaml_problems_name_their_lines() -> None:
    text = """\
rules:
  - name: tracks
    drop: [remarks, "bad name"]
  - name: nothing
    types: [a-h-*]
"""
    problems = _problems(text, "bad.yaml")
    assert any(p.startswith("bad.yaml:3:") and "'bad name'" in p for p in problems)
    assert any(p.startswith("bad.yaml:4:") and "does nothing" in p for p in problems)


def test_syntax_errors_and_empty_files() -> None:
    assert _problems("[[rules]\nname=", "x.toml")[0].startswith("x.toml:")
    assert "empty" in _problems("", "x.yaml")[0]
    assert "unknown top-level key" in " ".join(_problems("rules: []\nother: 1\n", "x.yaml"))


def test_organisations_held_by_the_federate_are_part_of_its_file() -> None:
    only = load_rules('organisations = ["usfj", "indopacom"]\n', "usfj.toml", DEFAULT_POLICY)
    assert only.organisations == frozenset({"usfj", "indopacom"}) and only.rules == ()
    both = load_rules("organisations: [jjoc]\n" + GOOD_YAML, "jjoc.yaml", DEFAULT_POLICY)
    assert both.organisations == frozenset({"jjoc"}) and len(both.rules) == 1
    assert load_rules(GOOD_TOML, "jpn.toml", DEFAULT_POLICY).organisations == frozenset()
    with pytest.raises(RulesError) as bad:
        load_rules('organisations = ["usfj", "no spaces"]\norgs = 1\n', "x.toml", DEFAULT_POLICY)
    text = str(bad.value)
    assert "'no spaces' is not an organisation id" in text and "x.toml:2:" in text
    with pytest.raises(RulesError, match="non-empty list"):
        load_rules("organisations: []\n", "x.yaml", DEFAULT_POLICY)

"""Sanitisation rules for one federate: a TOML or YAML file, validated with line numbers.

A rule says which items it applies to (``types``: CoT type patterns;
``markings``: exact markings) and what the guard does to them before they cross:
``drop`` named detail elements, ``coarsen_m`` the position to a grid and raise
``ce``, replace the ``callsign`` with a unit designator, and ``release_as``: the
marking of a *releasable copy* of an item whose full version may not cross. The
first rule that matches an item applies (file order). The guard never raises an
item's releasability except through ``release_as``, and a rule with
``release_as`` must name the ``markings`` it downgrades, so no rule can release
"whatever matches". TOML::

    [[rules]]
    name = "jpn-tracks"
    types = ["a-f-*", "a-h-*"]
    markings = ["SECRET//NOFORN"]
    drop = ["remarks", "__video", "link"]
    coarsen_m = 1000
    callsign = "US UNIT"
    release_as = "CONFIDENTIAL//REL TO USA, JPN"

A top-level ``organisations = ["usfj", …]`` names the scenario's organisations
held on the federate's server: a request whose route passes one of them is
forwarded there (federation/alliance.py); a file may hold only that list.
YAML: the same keys under ``rules:``, as a list. Problems are reported as
``file:line: message (fix: …)`` like scenario files (alliance/validation.py).
"""

from __future__ import annotations

import difflib
import fnmatch
import hashlib
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from allied_c2.alliance.located import Located, SyntaxProblem, parse
from allied_c2.alliance.validation import Problem
from allied_c2.cot.event import CotEvent
from allied_c2.security.levels import MarkingError
from allied_c2.security.markings import Marking, parse_banner
from allied_c2.security.policy import SecurityPolicy

KEYS = ("name", "types", "markings", "drop", "coarsen_m", "callsign", "release_as")
TOP_KEYS = ("organisations", "rules")
ACTIONS = ("drop", "coarsen_m", "callsign", "release_as")
# A grid coarser than this says nothing about the item's position any more;
# finer than 1 m is no coarsening (CoT ce is in metres).
MIN_GRID_M, MAX_GRID_M = 1.0, 1_000_000.0
_ORG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
_XML_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_. -]{0,63}$")
# Elements the guard itself relies on: dropping them would make the copy unreadable.
_KEEP = frozenset({"__sanitised"})
FIX = "see docs/federation.md, 'Sanitisation rules'"


class RulesError(ValueError):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    types: tuple[str, ...] = ()  # fnmatch patterns on the CoT type; empty: every type
    markings: tuple[Marking, ...] = ()  # the item's marking (originator aside); empty: any
    drop: frozenset[str] = frozenset()
    coarsen_m: float | None = None
    callsign: str | None = None
    release_as: Marking | None = None

    def matches(self, event: CotEvent, marking: Marking) -> bool:
        if self.types and not any(fnmatch.fnmatchcase(event.type, t) for t in self.types):
            return False
        return not self.markings or marking.with_originator(None) in self.markings


@dataclass(frozen=True, slots=True)
class RuleSet:
    rules: tuple[Rule, ...] = ()
    source: str | None = None
    digest: str | None = None  # SHA-256 of the file text, for the audit trail
    # The scenario's organisations held on the federate's server (requests and
    # readiness across servers, federation/alliance.py).
    organisations: frozenset[str] = frozenset()

    def first_match(self, event: CotEvent, marking: Marking) -> Rule | None:
        for rule in self.rules:
            if rule.matches(event, marking):
                return rule
        return None


NO_RULES = RuleSet()


def is_toml(source: str) -> bool:
    return source.lower().endswith(".toml")


def load_rules(text: str, source: str, policy: SecurityPolicy) -> RuleSet:
    """The rules in ``text`` (TOML when ``source`` ends in .toml, else YAML).

    Raises :class:`RulesError` with every problem found.
    """
    doc = _toml_document(text) if is_toml(source) else parse(text)
    checker = _Checker(doc, source, policy)
    rules = checker.run()
    if checker.problems:
        raise RulesError(sorted(set(checker.problems), key=lambda p: (p.line, p.message)))
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return RuleSet(tuple(rules), source, digest, frozenset(checker.organisations))


def _toml_document(text: str) -> Located:
    """TOML read into a :class:`Located`: tomllib keeps no positions, so the lines of
    ``[[rules]]`` tables and their keys are found by reading the text."""
    try:
        data: object = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"line (\d+)", str(exc))
        at = int(found.group(1)) if found else 1
        return Located(data=None, problems=[SyntaxProblem(at, f"TOML syntax error: {exc}")])
    lines: dict[tuple[str | int, ...], int] = {(): 1}
    index = -1
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if line.startswith("[[") and line.rstrip("]").strip("[ ").strip() == "rules":
            index += 1
            lines[("rules", index)] = number
            lines.setdefault(("rules",), number)
            continue
        key = re.match(r"^([A-Za-z0-9_\-\"']+)\s*=", line)
        if key is not None:
            name = key.group(1).strip("\"'")
            path: tuple[str | int, ...] = ("rules", index, name) if index >= 0 else (name,)
            lines.setdefault(path, number)
    return Located(data=data, lines=lines)


class _Checker:
    def __init__(self, doc: Located, source: str, policy: SecurityPolicy) -> None:
        self.doc = doc
        self.source = source
        self.policy = policy
        self.problems: list[Problem] = []
        self.organisations: list[str] = []

    def add(self, path: tuple[str | int, ...], message: str, fix: str = FIX) -> None:
        self.problems.append(Problem(self.source, self.doc.line(path), message, fix))

    def run(self) -> list[Rule]:
        for syntax in self.doc.problems:
            self.problems.append(
                Problem(self.source, syntax.line, syntax.message, "fix the syntax")
            )
        data = self.doc.data
        if data is None:
            if not self.doc.problems:
                self.add((), "the file is empty", "give at least one rule under 'rules'")
            return []
        if not isinstance(data, Mapping):
            self.add((), "the file must be a mapping with a 'rules' list", FIX)
            return []
        for key in data:
            if key not in TOP_KEYS:
                self.add(
                    (str(key),),
                    f"unknown top-level key '{key}'",
                    f"only {', '.join(repr(k) for k in TOP_KEYS)} are allowed",
                )
        self.organisations = list(self.strings((), data, "organisations"))
        for i, org in enumerate(self.organisations):
            if not _ORG.match(org):
                self.add(("organisations", i), f"'{org}' is not an organisation id")
        items = data.get("rules")
        if items is None and self.organisations:
            return []  # a file that only maps organisations to the federate's server
        if not isinstance(items, list) or not items:
            self.add(("rules",), "'rules' must be a non-empty list of rules", FIX)
            return []
        rules: list[Rule] = []
        names: dict[str, int] = {}
        for index, item in enumerate(items):
            rule = self.rule(index, item)
            if rule is None:
                continue
            if rule.name in names:
                self.add(("rules", index, "name"), f"rule name '{rule.name}' is used twice")
            names[rule.name] = index
            rules.append(rule)
        return rules

    def rule(self, index: int, item: object) -> Rule | None:
        here: tuple[str | int, ...] = ("rules", index)
        if not isinstance(item, Mapping):
            self.add(here, "a rule must be a mapping of keys", FIX)
            return None
        for key in item:
            if key not in KEYS:
                close = difflib.get_close_matches(str(key), KEYS, n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                self.add((*here, str(key)), f"unknown key '{key}'{hint}", f"use {', '.join(KEYS)}")
        name = item.get("name")
        if not isinstance(name, str) or not _NAME.match(name):
            self.add((*here, "name"), "a rule needs a 'name': 1-64 letters, digits, ' ', '-', '_'")
            name = f"rule {index + 1}"
        if not any(key in item for key in ACTIONS):
            self.add(here, f"rule '{name}' does nothing", f"give one of {', '.join(ACTIONS)}")
        types = self.strings(here, item, "types")
        markings = tuple(
            m
            for m in (
                self.marking((*here, "markings", i), t)
                for i, t in enumerate(self.strings(here, item, "markings"))
            )
            if m is not None
        )
        drop = self.strings(here, item, "drop")
        for i, element in enumerate(drop):
            if not _XML_NAME.match(element) or element in _KEEP:
                self.add((*here, "drop", i), f"'{element}' is not a detail element that may go")
        release_as = None
        if "release_as" in item:
            value = item["release_as"]
            release_as = self.marking((*here, "release_as"), value)
            if not markings:
                self.add(
                    (*here, "release_as"),
                    f"rule '{name}' releases a copy but names no 'markings' it applies to",
                    "list the exact markings whose items may cross as a copy",
                )
        return Rule(
            name=name,
            types=types,
            markings=markings,
            drop=frozenset(drop),
            coarsen_m=self.grid(here, item),
            callsign=self.callsign(here, item),
            release_as=release_as,
        )

    def strings(
        self, here: tuple[str | int, ...], item: Mapping[str, Any], key: str
    ) -> tuple[str, ...]:
        if key not in item:
            return ()
        value = item[key]
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            self.add((*here, key), f"'{key}' must be a list of non-empty strings")
            return ()
        return tuple(value)

    def marking(self, path: tuple[str | int, ...], value: object) -> Marking | None:
        if not isinstance(value, str):
            self.add(path, "a marking must be a string such as 'CONFIDENTIAL//REL TO USA, JPN'")
            return None
        try:
            return parse_banner(value, self.policy, strict=False).with_originator(None)
        except MarkingError as exc:
            self.add(path, f"marking '{value}': {exc}", "write a banner marking the policy knows")
            return None

    def grid(self, here: tuple[str | int, ...], item: Mapping[str, Any]) -> float | None:
        if "coarsen_m" not in item:
            return None
        value = item["coarsen_m"]
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.add((*here, "coarsen_m"), "'coarsen_m' must be a number of metres")
            return None
        if not MIN_GRID_M <= value <= MAX_GRID_M:
            self.add(
                (*here, "coarsen_m"),
                f"'coarsen_m' = {value}: use {MIN_GRID_M:g} to {MAX_GRID_M:g} metres",
            )
            return None
        return float(value)

    def callsign(self, here: tuple[str | int, ...], item: Mapping[str, Any]) -> str | None:
        if "callsign" not in item:
            return None
        value = item["callsign"]
        if not isinstance(value, str) or not value.strip() or len(value) > 64:
            self.add((*here, "callsign"), "'callsign' must be a unit designator of 1-64 characters")
            return None
        return value.strip()

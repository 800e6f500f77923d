"""Scenario validation: every problem in a scenario file, each with file, line and a fix.

Checks run in three layers so one mistake does not hide the others: YAML
syntax (and duplicate keys), the published JSON Schema, then the meaning of
the structure (unknown ids, cycles, double OPCON, counterparts, time zones,
coordinates, markings, rules that point nowhere). Graph checks run for every
combination of parameter choices, because ``when:`` conditions change which
relationships and authorities exist.
"""

from __future__ import annotations

import difflib
import functools
import json
import zoneinfo
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from allied_c2.alliance import parameters as params
from allied_c2.alliance.graphcheck import command_problems
from allied_c2.alliance.located import Located, Path_, parse
from allied_c2.alliance.markingcheck import marking_problem

SCHEMA_FIX = "see `allied-c2 scenario schema` for the allowed fields and values"


@dataclass(frozen=True, slots=True, order=True)
class Problem:
    file: str
    line: int
    message: str
    fix: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message} (fix: {self.fix})"


@functools.cache
def scenario_schema() -> dict[str, Any]:
    """The published JSON Schema (Draft 2020-12) of scenario files."""
    text = resources.files("allied_c2.alliance").joinpath("schema/scenario.schema.json")
    loaded: dict[str, Any] = json.loads(text.read_text(encoding="utf-8"))
    return loaded


@functools.cache
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def validate(path: Path) -> list[Problem]:
    """Every problem in the scenario file at ``path`` (empty when it is clean)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return [Problem(str(path), 1, f"cannot read file: {exc}", "check the path and encoding")]
    return validate_text(text, str(path))


def validate_text(text: str, source_name: str) -> list[Problem]:
    return check_document(parse(text), source_name)


def check_document(doc: Located, source: str) -> list[Problem]:
    checker = _Checker(doc, source)
    checker.run()
    return sorted(set(checker.problems), key=lambda p: (p.line, p.message))


def check_values(doc: Located, source: str, values: Mapping[str, object]) -> list[Problem]:
    """Problems of one parameter variant (overrides may leave the declared choices)."""
    checker = _Checker(doc, source)
    data = params.substitute(doc.data, values)
    checker.check_schema(data)
    if not checker.problems:
        orgs = {o["id"]: o for _, o in _items(data, "organisations")}
        for path, message, fix in command_problems(data, orgs, values):
            checker.add(path, message, fix)
    return sorted(set(checker.problems), key=lambda p: (p.line, p.message))


def _close(word: str, options: Iterator[str] | list[str] | set[str] | frozenset[str]) -> str:
    found = difflib.get_close_matches(word, list(options), n=1)
    return f" (did you mean '{found[0]}'?)" if found else ""


def _items(data: object, key: str) -> Iterator[tuple[int, Mapping[str, Any]]]:
    if isinstance(data, Mapping) and isinstance(data.get(key), list):
        for index, item in enumerate(data[key]):
            if isinstance(item, Mapping):
                yield index, item


class _Checker:
    def __init__(self, doc: Located, source: str) -> None:
        self.doc = doc
        self.source = source
        self.problems: list[Problem] = []

    def add(self, path: Path_, message: str, fix: str) -> None:
        self.problems.append(Problem(self.source, self.doc.line(path), message, fix))

    def run(self) -> None:
        for syntax in self.doc.problems:
            self.problems.append(Problem(self.source, syntax.line, syntax.message, "fix the YAML"))
        if self.doc.data is None and not self.doc.problems:
            self.add((), "the file is empty", "start from one of the files in scenarios/")
            return
        if not isinstance(self.doc.data, Mapping):
            if self.doc.data is not None:
                self.add((), "a scenario must be a mapping at the top level", SCHEMA_FIX)
            return
        defs = params.definitions(self.doc.data)
        self.check_parameters(defs)
        defaults = {name: p.default for name, p in defs.items()}
        data = params.substitute(self.doc.data, defaults)
        self.check_schema(data)
        orgs = self.check_organisations(data)
        kinds = self.check_request_kinds(data)
        self.check_relationships(data, orgs)
        self.check_authorities(data, orgs, kinds)
        self.check_exercise(data, orgs, kinds)
        for values in params.variants(defs):
            variant = params.substitute(self.doc.data, values)
            for path, message, fix in command_problems(variant, orgs, values):
                self.add(path, message, fix)

    def check_parameters(self, defs: Mapping[str, params.Parameter]) -> None:
        for name, p in defs.items():
            if p.choices and p.default not in p.choices:
                allowed = ", ".join(str(c) for c in p.choices)
                self.add(
                    ("parameters", name, "default"),
                    f"parameter '{name}' default '{p.default}' is not one of its choices",
                    f"use one of: {allowed}",
                )
        for path, ref in params.references(self.doc.data):
            if ref not in defs:
                self.add(
                    path,
                    f"unknown parameter '{ref}' in '${{{ref}}}'",
                    f"declare '{ref}' under parameters{_close(ref, set(defs))}",
                )
        for section in ("relationships", "authorities"):
            for index, item in _items(self.doc.data, section):
                when = item.get("when")
                if not isinstance(when, Mapping):
                    continue
                for name, wanted in when.items():
                    path = (section, index, "when", name)
                    if name not in defs:
                        self.add(
                            path,
                            f"when: unknown parameter '{name}'",
                            f"declare '{name}' under parameters{_close(str(name), set(defs))}",
                        )
                        continue
                    choices = defs[name].choices
                    for value in wanted if isinstance(wanted, list) else [wanted]:
                        if choices and value not in choices:
                            allowed = ", ".join(str(c) for c in choices)
                            self.add(
                                path,
                                f"when: parameter '{name}' has no choice '{value}'",
                                f"use one of: {allowed}",
                            )

    def check_schema(self, data: object) -> None:
        # Imported here: jsonschema and its referencing stack cost about 3 MB, and a
        # server started without a scenario never validates one.
        import jsonschema

        validator = jsonschema.Draft202012Validator(scenario_schema())
        for error in validator.iter_errors(data):
            path: Path_ = tuple(error.absolute_path)
            where = _dotted(path)
            if error.validator == "additionalProperties" and isinstance(error.instance, Mapping):
                allowed = set(error.schema.get("properties", {}))
                for extra in sorted(set(error.instance) - allowed):
                    line = self.doc.key_lines.get((*path, extra), self.doc.line(path))
                    hint = _close(extra, allowed)
                    self.problems.append(
                        Problem(
                            self.source,
                            line,
                            f"{where or 'top level'}: unknown field '{extra}'",
                            f"remove it or use a known field{hint}",
                        )
                    )
                continue
            message = f"{where}: {error.message}" if where else error.message
            self.add(path, message, SCHEMA_FIX)

    def check_organisations(self, data: object) -> dict[str, Mapping[str, Any]]:
        orgs: dict[str, Mapping[str, Any]] = {}
        first_line: dict[str, int] = {}
        for index, org in _items(data, "organisations"):
            oid = org.get("id")
            if not isinstance(oid, str):
                continue
            base = ("organisations", index)
            if oid in orgs:
                self.add(
                    (*base, "id"),
                    f"duplicate organisation id '{oid}' (first defined at line {first_line[oid]})",
                    "give every organisation a unique id",
                )
                continue
            orgs[oid] = org
            first_line[oid] = self.doc.line((*base, "id"))
            tz = org.get("timezone")
            if isinstance(tz, str) and tz not in _timezones():
                self.add(
                    (*base, "timezone"),
                    f"unknown time zone '{tz}'",
                    f"use an IANA zone name{_close(tz, _timezones())}",
                )
            location = org.get("location")
            if isinstance(location, Mapping):
                self.check_coordinates((*base, "location"), location)
            marking = org.get("marking")
            if isinstance(marking, str):
                self.check_marking((*base, "marking"), marking)
        if isinstance(data, Mapping) and isinstance(data.get("marking"), str):
            self.check_marking(("marking",), data["marking"])
        self.check_counterparts(data, orgs)
        return orgs

    def check_coordinates(self, path: Path_, where: Mapping[str, Any]) -> None:
        for key, limit in (("lat", 90), ("lon", 180)):
            value = where.get(key)
            if isinstance(value, int | float) and not -limit <= value <= limit:
                name = "latitude" if key == "lat" else "longitude"
                self.add(
                    (*path, key),
                    f"{name} {value} is out of range [-{limit}, {limit}]",
                    "give decimal degrees (WGS 84); check for swapped lat/lon",
                )

    def check_marking(self, path: Path_, marking: str) -> None:
        reason = marking_problem(marking)
        if reason is not None:
            self.add(
                path,
                f"bad marking '{marking}': {reason}",
                "use a banner such as 'UNCLASSIFIED' or 'SECRET//REL TO USA, JPN'",
            )

    def check_counterparts(self, data: object, orgs: Mapping[str, Mapping[str, Any]]) -> None:
        # Declarations are directed (A names B); a counterpart must be named both ways.
        declared: dict[tuple[str, str], Path_] = {}
        for index, org in _items(data, "organisations"):
            for position, other in enumerate(org.get("counterparts") or []):
                if isinstance(org.get("id"), str) and isinstance(other, str):
                    where: Path_ = ("organisations", index, "counterparts", position)
                    declared.setdefault((org["id"], other), where)
        for index, rel in _items(data, "relationships"):
            sup, sub = rel.get("superior"), rel.get("subordinate")
            if (
                rel.get("relation") == "COUNTERPART"
                and isinstance(sup, str)
                and isinstance(sub, str)
            ):
                declared.setdefault((sup, sub), ("relationships", index, "subordinate"))
        reported: set[frozenset[str]] = set()
        for (a, b), path in declared.items():
            if b not in orgs:
                self.add(
                    path,
                    f"counterpart '{b}' of '{a}' is not a defined organisation",
                    f"define '{b}' or correct the id{_close(b, set(orgs))}",
                )
                continue
            if a not in orgs:
                continue  # reported as an unknown relationship id
            if (b, a) not in declared:
                self.add(
                    path,
                    f"counterpart '{b}' of '{a}' does not name '{a}' as its counterpart",
                    f"add '{a}' to the counterparts of '{b}' (counterparts are mutual)",
                )
            same_nation = orgs[a].get("nation") == orgs[b].get("nation")
            if same_nation and frozenset((a, b)) not in reported:  # once per pair
                reported.add(frozenset((a, b)))
                self.add(
                    path,
                    f"counterparts '{a}' and '{b}' are both {orgs[a].get('nation')}; "
                    "counterparts must be of different nations",
                    "use a COORD relationship between organisations of one nation",
                )

    def check_request_kinds(self, data: object) -> dict[str, int]:
        kinds: dict[str, int] = {}
        for index, kind in _items(data, "request_kinds"):
            kid = kind.get("id")
            if not isinstance(kid, str):
                continue
            if kid in kinds:
                self.add(
                    ("request_kinds", index, "id"),
                    f"duplicate request kind '{kid}' (first defined at line {kinds[kid]})",
                    "give every request kind a unique id",
                )
                continue
            kinds[kid] = self.doc.line(("request_kinds", index, "id"))
        return kinds

    def unknown_org(self, path: Path_, what: str, oid: object, orgs: Mapping[str, object]) -> bool:
        if isinstance(oid, str) and oid not in orgs:
            self.add(
                path,
                f"{what} '{oid}' is not a defined organisation",
                f"define '{oid}' under organisations or correct the id{_close(oid, set(orgs))}",
            )
            return True
        return False

    def check_relationships(self, data: object, orgs: Mapping[str, Mapping[str, Any]]) -> None:
        for index, rel in _items(data, "relationships"):
            base = ("relationships", index)
            bad = self.unknown_org(
                (*base, "superior"), "relationship superior", rel.get("superior"), orgs
            )
            bad |= self.unknown_org(
                (*base, "subordinate"), "relationship subordinate", rel.get("subordinate"), orgs
            )
            if not bad and rel.get("superior") == rel.get("subordinate"):
                self.add(
                    (*base, "subordinate"),
                    f"organisation '{rel.get('superior')}' is related to itself",
                    "a relationship needs two different organisations",
                )

    def check_authorities(
        self, data: object, orgs: Mapping[str, Mapping[str, Any]], kinds: Mapping[str, int]
    ) -> None:
        used: set[str] = set()
        counterparts = _counterpart_sets(data)
        for index, rule in _items(data, "authorities"):
            base = ("authorities", index)
            kind = rule.get("request_kind")
            if isinstance(kind, str):
                used.add(kind)
                if kind not in kinds:
                    self.add(
                        (*base, "request_kind"),
                        f"decision authority for unknown request kind '{kind}'",
                        f"declare '{kind}' under request_kinds or correct the id"
                        f"{_close(kind, set(kinds))}",
                    )
            decider = rule.get("decider")
            unknown = self.unknown_org((*base, "decider"), "decider", decider, orgs)
            for position, force in enumerate(rule.get("forces") or []):
                self.unknown_org((*base, "forces", position), "forces entry", force, orgs)
            self.unknown_org(
                (*base, "delegated_from"), "delegated_from", rule.get("delegated_from"), orgs
            )
            if unknown or not isinstance(decider, str):
                continue
            nation = rule.get("nation")
            if orgs[decider].get("nation") not in (nation, "MULTI"):
                self.add(
                    (*base, "decider"),
                    f"decider '{decider}' is {orgs[decider].get('nation')} "
                    f"but the rule is for {nation}",
                    "a nation's rules are decided by that nation's organisations",
                )
            if rule.get("consult_counterpart") and not counterparts.get(decider):
                self.add(
                    (*base, "consult_counterpart"),
                    f"decider '{decider}' has no counterpart to consult",
                    f"declare a counterpart for '{decider}' or set consult_counterpart: false",
                )
        for kind, line in kinds.items():
            if kind not in used:
                self.problems.append(
                    Problem(
                        self.source,
                        line,
                        f"request kind '{kind}' is used by no decision authority",
                        f"add an authority for '{kind}' or remove the kind",
                    )
                )

    def check_exercise(
        self, data: object, orgs: Mapping[str, Mapping[str, Any]], kinds: Mapping[str, int]
    ) -> None:
        exercise = data.get("exercise") if isinstance(data, Mapping) else None
        for index, pos in _items(exercise, "positions"):
            base = ("exercise", "positions", index)
            self.unknown_org((*base, "org"), "exercise position org", pos.get("org"), orgs)
            self.check_coordinates(base, pos)
        for index, hint in _items(exercise, "workload"):
            base = ("exercise", "workload", index)
            kind = hint.get("request_kind")
            if isinstance(kind, str) and kind not in kinds:
                self.add(
                    (*base, "request_kind"),
                    f"workload for unknown request kind '{kind}'",
                    f"declare '{kind}' under request_kinds{_close(kind, set(kinds))}",
                )
            for position, oid in enumerate(hint.get("originators") or []):
                self.unknown_org((*base, "originators", position), "workload originator", oid, orgs)


def _counterpart_sets(data: object) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for _, org in _items(data, "organisations"):
        for other in org.get("counterparts") or []:
            if isinstance(org.get("id"), str) and isinstance(other, str):
                out.setdefault(org["id"], set()).add(other)
                out.setdefault(other, set()).add(org["id"])
    for _, rel in _items(data, "relationships"):
        sup, sub = rel.get("superior"), rel.get("subordinate")
        if rel.get("relation") == "COUNTERPART" and isinstance(sup, str) and isinstance(sub, str):
            out.setdefault(sup, set()).add(sub)
            out.setdefault(sub, set()).add(sup)
    return out


def _dotted(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out

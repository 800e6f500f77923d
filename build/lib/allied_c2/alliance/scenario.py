"""Scenario files (YAML) to :class:`Structure`, and back.

``load_structure(path, overrides)`` validates the whole file first and raises
:class:`ScenarioError` with every problem; only a clean file is built. The
format is documented in docs/scenarios.md and by ``scenario.schema.json``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from allied_c2.alliance import parameters as params
from allied_c2.alliance.located import parse
from allied_c2.alliance.model import (
    DecisionAuthority,
    DutyHours,
    Exercise,
    Location,
    Organisation,
    OrgKind,
    Relation,
    Relationship,
    RequestKind,
    Structure,
    UnitPosition,
    WorkloadHint,
)
from allied_c2.alliance.validation import Problem, check_document, check_values

# Common names accepted next to the C2SIM codes the model uses.
RELATION_NAMES: dict[str, Relation] = {r.value: r for r in Relation} | {
    "TACON": Relation.TACON,
    "ADCON": Relation.ADCON,
}


class ScenarioError(ValueError):
    """A scenario that cannot be loaded; ``problems`` lists every reason."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def load_structure(path: Path, overrides: Mapping[str, object] | None = None) -> Structure:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(
            [Problem(str(path), 1, f"cannot read file: {exc}", "check the path and encoding")]
        ) from exc
    return load_scenario_text(text, str(path), overrides)


def load_scenario_text(
    text: str, source_name: str, overrides: Mapping[str, object] | None = None
) -> Structure:
    doc = parse(text)
    problems = check_document(doc, source_name)
    if problems:
        raise ScenarioError(problems)
    defs = params.definitions(doc.data)
    try:
        values = params.resolve(defs, overrides)
    except params.ParameterError as exc:
        fix = "pass --set NAME=VALUE with a declared parameter and one of its choices"
        raise ScenarioError(
            [Problem(source_name, doc.line(("parameters",)), str(exc), fix)]
        ) from exc
    problems = check_values(doc, source_name, values)
    if problems:
        raise ScenarioError(problems)
    data = params.substitute(doc.data, values)
    assert isinstance(data, dict)  # guaranteed by the schema check
    return build(data, values)


def build(data: Mapping[str, Any], values: Mapping[str, object]) -> Structure:
    """A Structure from schema-valid, parameter-substituted scenario data."""
    structure = Structure(
        name=data["name"],
        description=data.get("description", ""),
        default_marking=data.get("marking", "UNCLASSIFIED"),
        parameters=dict(values),
    )
    for raw in data.get("request_kinds", []):
        structure.request_kinds[raw["id"]] = RequestKind(
            id=raw["id"],
            title=raw["title"],
            bilateral=bool(raw.get("bilateral", False)),
            default_hours_per_hop=float(raw.get("default_hours_per_hop", 4.0)),
        )
    for raw in data["organisations"]:
        structure.organisations[raw["id"]] = _organisation(raw)
    notes: dict[frozenset[str], str] = {}
    pairs: set[frozenset[str]] = set()
    for raw in data["organisations"]:
        pairs.update(frozenset((raw["id"], other)) for other in raw.get("counterparts", []))
    for raw in data.get("relationships", []):
        if not params.applies(raw.get("when"), values):
            continue
        relation = RELATION_NAMES[raw["relation"]]
        if relation is Relation.COUNTERPART:
            pair = frozenset((raw["superior"], raw["subordinate"]))
            pairs.add(pair)
            if raw.get("note"):
                notes.setdefault(pair, raw["note"])
            continue
        structure.relationships.append(
            Relationship(raw["superior"], raw["subordinate"], relation, raw.get("note"))
        )
    # Counterparts are symmetric: one Relationship per pair, earlier organisation first.
    order = {oid: index for index, oid in enumerate(structure.organisations)}
    for pair in sorted(pairs, key=lambda p: sorted(order[o] for o in p)):
        first, second = sorted(pair, key=order.__getitem__)
        structure.relationships.append(
            Relationship(first, second, Relation.COUNTERPART, notes.get(pair))
        )
    for raw in data.get("authorities", []):
        if params.applies(raw.get("when"), values):
            structure.authorities.append(
                DecisionAuthority(
                    request_kind=raw["request_kind"],
                    nation=raw["nation"],
                    decider=raw["decider"],
                    forces=tuple(raw.get("forces", ())),
                    consult_counterpart=bool(raw.get("consult_counterpart", False)),
                    delegated_from=raw.get("delegated_from"),
                    max_hours=float(raw.get("max_hours", 24.0)),
                )
            )
    if "exercise" in data:
        structure.exercise = _exercise(data["exercise"])
    return structure


def _organisation(raw: Mapping[str, Any]) -> Organisation:
    location = raw.get("location")
    duty = raw.get("duty_hours") or {}
    return Organisation(
        id=raw["id"],
        name=raw["name"],
        nation=raw["nation"],
        kind=OrgKind(raw["kind"]),
        echelon=raw["echelon"],
        timezone=raw["timezone"],
        location=Location(float(location["lat"]), float(location["lon"])) if location else None,
        native_name=raw.get("native_name"),
        commander_grade=raw.get("commander_grade"),
        sidc=raw.get("sidc"),
        strength=raw.get("strength"),
        duty_hours=DutyHours(
            start_hour=duty.get("start_hour", 8),
            end_hour=duty.get("end_hour", 18),
            weekdays=tuple(duty.get("weekdays", (0, 1, 2, 3, 4))),
            always=bool(duty.get("always", False)),
        ),
        synthetic=bool(raw.get("synthetic", False)),
        marking=raw.get("marking"),
    )


def _exercise(raw: Mapping[str, Any]) -> Exercise:
    return Exercise(
        name=raw["name"],
        start=raw.get("start"),
        description=raw.get("description", ""),
        positions=tuple(
            UnitPosition(p["org"], Location(float(p["lat"]), float(p["lon"])), p.get("label"))
            for p in raw.get("positions", [])
        ),
        workload=tuple(
            WorkloadHint(
                request_kind=w["request_kind"],
                per_day=float(w["per_day"]),
                originators=tuple(w.get("originators", ())),
                urgent_share=float(w.get("urgent_share", 0.0)),
            )
            for w in raw.get("workload", [])
        ),
    )


def to_data(structure: Structure) -> dict[str, Any]:
    """The scenario-file form of a Structure (parameters frozen at their values)."""
    counterparts: dict[str, list[str]] = {}
    relationships: list[dict[str, Any]] = []
    for rel in structure.relationships:
        if rel.relation is Relation.COUNTERPART and rel.note is None:
            counterparts.setdefault(rel.superior, []).append(rel.subordinate)
            counterparts.setdefault(rel.subordinate, []).append(rel.superior)
            continue
        entry = {"superior": rel.superior, "subordinate": rel.subordinate}
        entry["relation"] = rel.relation.value
        relationships.append(entry | ({"note": rel.note} if rel.note else {}))
        if rel.relation is Relation.COUNTERPART:  # counterparts are declared both ways
            relationships.append(entry | {"superior": rel.subordinate, "subordinate": rel.superior})
    out: dict[str, Any] = {"name": structure.name}
    if structure.description:
        out["description"] = structure.description
    out["marking"] = structure.default_marking
    if structure.parameters:
        out["parameters"] = {k: {"default": v} for k, v in structure.parameters.items()}
    out["request_kinds"] = [
        {
            "id": k.id,
            "title": k.title,
            "bilateral": k.bilateral,
            "default_hours_per_hop": k.default_hours_per_hop,
        }
        for k in structure.request_kinds.values()
    ]
    out["organisations"] = [
        _org_data(o, counterparts.get(o.id, [])) for o in structure.organisations.values()
    ]
    out["relationships"] = relationships
    out["authorities"] = [_authority_data(a) for a in structure.authorities]
    if structure.exercise is not None:
        out["exercise"] = _exercise_data(structure.exercise)
    return out


def dump_structure(structure: Structure) -> str:
    return yaml.safe_dump(
        to_data(structure), sort_keys=False, allow_unicode=True, width=100, default_flow_style=None
    )


def _org_data(org: Organisation, counterparts: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": org.id,
        "name": org.name,
        "nation": org.nation,
        "kind": org.kind.value,
        "echelon": org.echelon,
        "timezone": org.timezone,
    }
    optional = {
        "native_name": org.native_name,
        "commander_grade": org.commander_grade,
        "sidc": org.sidc,
        "strength": org.strength,
        "marking": org.marking,
    }
    out |= {k: v for k, v in optional.items() if v is not None}
    if org.location is not None:
        out["location"] = {"lat": org.location.lat, "lon": org.location.lon}
    if org.duty_hours != DutyHours():
        d = org.duty_hours
        out["duty_hours"] = {
            "start_hour": d.start_hour,
            "end_hour": d.end_hour,
            "weekdays": list(d.weekdays),
            "always": d.always,
        }
    if org.synthetic:
        out["synthetic"] = True
    if counterparts:
        out["counterparts"] = counterparts
    return out


def _authority_data(rule: DecisionAuthority) -> dict[str, Any]:
    out: dict[str, Any] = {
        "request_kind": rule.request_kind,
        "nation": rule.nation,
        "decider": rule.decider,
    }
    if rule.forces:
        out["forces"] = list(rule.forces)
    out["consult_counterpart"] = rule.consult_counterpart
    if rule.delegated_from:
        out["delegated_from"] = rule.delegated_from
    out["max_hours"] = rule.max_hours
    return out


def _exercise_data(exercise: Exercise) -> dict[str, Any]:
    out: dict[str, Any] = {"name": exercise.name}
    if exercise.start:
        out["start"] = exercise.start
    if exercise.description:
        out["description"] = exercise.description
    if exercise.positions:
        out["positions"] = [
            {"org": p.org, "lat": p.location.lat, "lon": p.location.lon}
            | ({"label": p.label} if p.label else {})
            for p in exercise.positions
        ]
    if exercise.workload:
        out["workload"] = [
            {"request_kind": w.request_kind, "per_day": w.per_day}
            | ({"originators": list(w.originators)} if w.originators else {})
            | ({"urgent_share": w.urgent_share} if w.urgent_share else {})
            for w in exercise.workload
        ]
    return out

"""The allied-c2 extension inside a C2SIM Initialization, and Structures from plain units.

The extension holds what C2SIM has no element for; names, locations, sides
and command relations are read from the standard elements, and the
extension's relationship list must agree with every standard
``CommandRelation`` (a stale extension is refused rather than trusted).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from lxml import etree  # type: ignore[import-untyped, unused-ignore]

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

Unit = Mapping[str, Any]  # one C2SIM Unit, as c2sim.import_c2sim reads it


class ExtensionError(ValueError):
    """An allied-c2 extension that does not match the C2SIM message it travels in."""


def extension_element(
    structure: Structure, ns: str, org_uuid: Callable[[str], str]
) -> etree._Element:
    def el(parent: etree._Element | None, tag_name: str, /, **attrs: object) -> etree._Element:
        tag = f"{{{ns}}}{tag_name}"
        node = etree.Element(tag) if parent is None else etree.SubElement(parent, tag)
        for key, value in attrs.items():
            if value is not None:
                node.set(key, _attr(value))
        return node

    root = el(None, "AlliedC2", version="1")
    el(
        root,
        "Scenario",
        name=structure.name,
        description=structure.description,
        marking=structure.default_marking,
    )
    for key, value in structure.parameters.items():
        el(root, "Parameter", name=key, value=json.dumps(value))
    for kind in structure.request_kinds.values():
        el(
            root,
            "RequestKind",
            id=kind.id,
            title=kind.title,
            bilateral=kind.bilateral,
            hours_per_hop=kind.default_hours_per_hop,
        )
    for org in structure.organisations.values():
        duty = org.duty_hours
        el(
            root,
            "Organisation",
            id=org.id,
            uuid=org_uuid(org.id),
            nation=org.nation,
            kind=org.kind.value,
            echelon=org.echelon,
            timezone=org.timezone,
            native_name=org.native_name,
            commander_grade=org.commander_grade,
            sidc=org.sidc,
            strength=org.strength,
            marking=org.marking,
            synthetic=org.synthetic,
            duty_start=duty.start_hour,
            duty_end=duty.end_hour,
            duty_weekdays=" ".join(str(d) for d in duty.weekdays),
            duty_always=duty.always,
        )
    for rel in structure.relationships:
        el(
            root,
            "Relationship",
            superior=rel.superior,
            subordinate=rel.subordinate,
            relation=rel.relation.value,
            note=rel.note,
        )
    for rule in structure.authorities:
        el(
            root,
            "Authority",
            request_kind=rule.request_kind,
            nation=rule.nation,
            decider=rule.decider,
            forces=" ".join(rule.forces),
            consult_counterpart=rule.consult_counterpart,
            delegated_from=rule.delegated_from,
            max_hours=rule.max_hours,
        )
    if structure.exercise is not None:
        ex = structure.exercise
        node = el(root, "Exercise", name=ex.name, start=ex.start, description=ex.description)
        for pos in ex.positions:
            el(
                node,
                "Position",
                org=pos.org,
                lat=pos.location.lat,
                lon=pos.location.lon,
                label=pos.label,
            )
        for hint in ex.workload:
            el(
                node,
                "Workload",
                request_kind=hint.request_kind,
                per_day=hint.per_day,
                originators=" ".join(hint.originators),
                urgent_share=hint.urgent_share,
            )
    return root


def _attr(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def read_extension(
    ext: etree._Element, units: Sequence[Unit], codes: Mapping[str, Relation]
) -> Structure:
    def each(name: str, parent: etree._Element = ext) -> list[dict[str, str]]:
        return [dict(e.attrib) for e in parent if isinstance(e.tag, str) and _local(e) == name]

    scenario = (each("Scenario") or [{}])[0]
    structure = Structure(
        name=scenario.get("name", "imported"),
        description=scenario.get("description", ""),
        default_marking=scenario.get("marking", "UNCLASSIFIED"),
        parameters={p["name"]: json.loads(p["value"]) for p in each("Parameter")},
    )
    for k in each("RequestKind"):
        structure.request_kinds[k["id"]] = RequestKind(
            k["id"], k["title"], k.get("bilateral") == "true", float(k["hours_per_hop"])
        )
    by_uuid = {u["uuid"]: u for u in units}
    id_of: dict[str, str] = {}
    for o in each("Organisation"):
        unit = by_uuid.get(o["uuid"])
        if unit is None:
            raise ExtensionError(f"extension organisation '{o['id']}' has no C2SIM Unit")
        if unit["side"] not in (None, o["nation"]):
            raise ExtensionError(
                f"'{o['id']}' is on side {unit['side']} but the extension says {o['nation']}"
            )
        id_of[o["uuid"]] = o["id"]
        location = unit["location"]
        structure.organisations[o["id"]] = Organisation(
            id=o["id"],
            name=unit["name"],
            nation=o["nation"],
            kind=OrgKind(o["kind"]),
            echelon=o["echelon"],
            timezone=o["timezone"],
            location=Location(*location) if location else None,
            native_name=o.get("native_name"),
            commander_grade=o.get("commander_grade"),
            sidc=o.get("sidc"),
            strength=int(o["strength"]) if "strength" in o else None,
            duty_hours=DutyHours(
                int(o["duty_start"]),
                int(o["duty_end"]),
                tuple(int(d) for d in o["duty_weekdays"].split()),
                o["duty_always"] == "true",
            ),
            synthetic=o.get("synthetic") == "true",
            marking=o.get("marking"),
        )
    if len(id_of) != len(by_uuid):
        raise ExtensionError("the C2SIM message has units the extension does not describe")
    for r in each("Relationship"):
        structure.relationships.append(
            Relationship(r["superior"], r["subordinate"], Relation(r["relation"]), r.get("note"))
        )
    declared = {(r.superior, r.subordinate, r.relation) for r in structure.relationships}
    for unit in units:
        for actor, code in unit["relations"]:
            if (
                code in codes
                and (id_of.get(actor), id_of[unit["uuid"]], codes[code]) not in declared
            ):
                sub = id_of[unit["uuid"]]
                raise ExtensionError(
                    f"C2SIM CommandRelation {code} of '{sub}' is not in the extension"
                )
    for a in each("Authority"):
        structure.authorities.append(
            DecisionAuthority(
                request_kind=a["request_kind"],
                nation=a["nation"],
                decider=a["decider"],
                forces=tuple(a.get("forces", "").split()),
                consult_counterpart=a.get("consult_counterpart") == "true",
                delegated_from=a.get("delegated_from"),
                max_hours=float(a["max_hours"]),
            )
        )
    exercise = next((e for e in ext if isinstance(e.tag, str) and _local(e) == "Exercise"), None)
    if exercise is not None:
        structure.exercise = Exercise(
            name=exercise.get("name", ""),
            start=exercise.get("start"),
            description=exercise.get("description", ""),
            positions=tuple(
                UnitPosition(p["org"], Location(float(p["lat"]), float(p["lon"])), p.get("label"))
                for p in each("Position", exercise)
            ),
            workload=tuple(
                WorkloadHint(
                    w["request_kind"],
                    float(w["per_day"]),
                    tuple(w.get("originators", "").split()),
                    float(w["urgent_share"]),
                )
                for w in each("Workload", exercise)
            ),
        )
    return structure


def structure_from_units(
    name: str, units: Sequence[Unit], codes: Mapping[str, Relation]
) -> Structure:
    """What plain C2SIM or MSDL says: units, names, sides, locations, command relations.

    Ids are made from names; kind, time zone and everything else C2SIM does
    not carry get neutral values (unit, Etc/UTC) for the user to complete.
    """
    structure = Structure(name=name)
    id_of: dict[str, str] = {}
    for unit in units:
        base = re.sub(r"[^a-z0-9]+", "_", unit["name"].lower()).strip("_") or "unit"
        oid, n = base, 2
        while oid in structure.organisations:
            oid, n = f"{base}_{n}", n + 1
        id_of[unit["uuid"]] = oid
        location = unit["location"]
        structure.organisations[oid] = Organisation(
            id=oid,
            name=unit["name"],
            nation=unit["side"] or "UNK",
            kind=OrgKind.UNIT,
            echelon=(unit["echelon"] or "unknown").lower(),
            timezone="Etc/UTC",
            location=Location(*location) if location else None,
            sidc=unit["sidc"],
        )
    for unit in units:
        sub = id_of[unit["uuid"]]
        related = set()
        for actor, code in unit["relations"]:
            if actor in id_of and code in codes:
                structure.relationships.append(Relationship(id_of[actor], sub, codes[code]))
                related.add(actor)
        if unit["superior"] in id_of and unit["superior"] not in related:
            structure.relationships.append(
                Relationship(id_of[unit["superior"]], sub, Relation.OPCON)
            )
    # Units without a side inherit their superior's nation.
    for oid in list(structure.organisations):
        org = structure.organisations[oid]
        if org.nation == "UNK":
            for ancestor in structure.chain_of_command(oid)[1:]:
                nation = structure.organisations[ancestor].nation
                if nation != "UNK":
                    structure.organisations[oid] = _with_nation(org, nation)
                    break
    return structure


def _with_nation(org: Organisation, nation: str) -> Organisation:
    return replace(org, nation=nation)


def _local(element: etree._Element) -> str:
    return str(etree.QName(element).localname)

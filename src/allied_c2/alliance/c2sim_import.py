"""C2SIM Initialization in: another system's ORBAT becomes a scenario, with a report.

The mapping follows the schema's structure, whichever version wrote the message:
``ObjectDefinitions/AbstractObject/ForceSide`` are sides, and every
``Entity/ActorEntity/CollectiveEntity/MilitaryOrganization`` (1.0.0) or its
``Unit`` (1.0.1, CWIX2025, 2.0.0) is an organisation: ``Name``, ``UUID``,
``EntityDescriptor/Side`` and ``Superior``, ``Subordinate``, the geodetic
``CurrentState`` location, the ``APP6-SIDC`` (or CWIX ``APP6CSymbol``),
``CommandRelation`` codes and ``EchelonCode``. Every element the mapping does not
read is listed in the :class:`ImportReport` (with notes for what was read but had
to be interpreted), so nothing is dropped silently.

C2SIM has no time zones, organisation kinds or decision authorities: organisations
get ``timezone: Etc/UTC`` and ``kind: unit`` for the user to complete, unless a
companion scenario (``c2sim_companion``) supplies them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from lxml import etree  # type: ignore[import-untyped, unused-ignore]

from allied_c2.alliance.c2sim import (
    C2SIM_CODES,
    ECHELON_CODES,
    KIND_NAMESPACE,
    LEVELS,
    NO_SCENARIO_TIME,
)
from allied_c2.alliance.c2sim_companion import reconcile
from allied_c2.alliance.c2sim_xml import (
    NS_1_1,
    NS_2_0,
    C2SIMError,
    Reader,
    Unmapped,
    child,
    children,
    descendants,
    local,
    parse_xml,
)
from allied_c2.alliance.model import (
    Exercise,
    Location,
    Organisation,
    OrgKind,
    Relation,
    Relationship,
    Structure,
)
from allied_c2.alliance.symbology import echelon_from_sidc
from allied_c2.cot.xmltree import Element

BODIES = ("C2SIMInitializationBody", "ObjectInitializationBody")  # the latter: older GMU files
NATION = re.compile(r"^([A-Z]{3}|MULTI)$")
UNKNOWN_NATION = "UNK"
DEFAULT_TIMEZONE = "Etc/UTC"
# Codes read back as the scenario relation; the rest are reported, not guessed.
CODES: dict[str, Relation] = {code: relation for relation, code in C2SIM_CODES.items()}
FULL_COMMAND = {"ASGND": "assigned", "ATTACH": "attached", "ORGANC": "organic", "COMD": "command"}
KINDS = frozenset(k.value for k in OrgKind)
ECHELON_WORDS = {code: word for word, code in reversed(ECHELON_CODES.items())}


@dataclass
class C2SIMUnit:
    """One organisation as the message states it (references are UUIDs)."""

    uuid: str
    name: str
    side: str | None = None
    superior: str | None = None
    subordinates: list[str] = field(default_factory=list)
    location: tuple[float, float] | None = None
    sidc: str | None = None
    kind: OrgKind | None = None
    echelon: str | None = None
    relations: list[tuple[str, Relation]] = field(default_factory=list)


@dataclass
class ImportReport:
    """What an import read, what it had to interpret, and what it left out."""

    source_version: str
    units: int = 0
    notes: list[str] = field(default_factory=list)
    unmapped: list[Unmapped] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"read {self.units} units as C2SIM {self.source_version}"]
        out += [f"note: {n}" for n in self.notes]
        if self.unmapped:
            out.append("not mapped (element path ×count (values)):")
            out += [f"  {u}" for u in self.unmapped]
        return out


@dataclass
class C2SIMImport:
    structure: Structure
    report: ImportReport


def import_c2sim(data: bytes, *, companion: Structure | None = None) -> Structure:
    """The Structure of a C2SIM Initialization; see :func:`read_initialization`."""
    return read_initialization(data, companion=companion).structure


def read_initialization(
    data: bytes,
    *,
    sides: Mapping[str, str] | None = None,
    name: str | None = None,
    companion: Structure | None = None,
) -> C2SIMImport:
    """A Structure and an :class:`ImportReport` from a C2SIM Initialization message.

    ``sides`` names the nation of a ``ForceSide`` whose name is not an ISO 3166
    code (``{"Friendly": "USA"}``); ``name`` overrides the scenario name
    (``ScenarioSetting/Version``); ``companion`` is the scenario exported beside
    the message, which makes the import lossless.
    """
    root = parse_xml(data)
    if local(root) in BODIES:
        body = root
    else:
        body = next((e for tag in BODIES for e in descendants(root, tag)), None)
    if body is None:
        raise C2SIMError("no C2SIMInitializationBody in the document (not an Initialization)")
    reader = Reader()
    report = ImportReport(_detect(root, body))
    header = child(root, "C2SIMHeader") if local(root) == "Message" else None
    marking = _header(reader, header, report)
    side_nations = _sides(reader, body, sides or {}, report)
    units = [u for e in _entities(body) if (u := _unit(reader, e, report)) is not None]
    report.units = len(units)
    setting = child(body, "ScenarioSetting")
    title = name or reader.text(setting, "Version") or "imported"
    start = reader.text(setting, "DateTime", "IsoDateTime")
    if (system := reader.text(child(body, "SystemEntityList"), "SystemName")) is not None:
        report.notes.append(f"units simulated by system '{system}' (SystemEntityList)")
    reader.texts(child(body, "SystemEntityList"), "ActorReference")
    if companion is not None:
        structure = reconcile(companion, units, side_nations, report.notes)
    else:
        structure = structure_from_units(title, units, side_nations, report)
        structure.default_marking = marking
        if start and start != NO_SCENARIO_TIME:
            structure.exercise = Exercise(name=title, start=start)
    report.unmapped = [
        Unmapped(_short(u.path), u.count, u.examples) for u in reader.unmapped([body], strip=1)
    ]
    return C2SIMImport(structure, report)


def _short(path: str) -> str:
    # Every unit sits under the same four wrappers; the report names the unit element.
    path = path.removeprefix("ObjectDefinitions/")
    return path.replace("Entity/ActorEntity/CollectiveEntity/", "")


def _detect(root: Element, body: Element) -> str:
    namespace = etree.QName(root).namespace
    if namespace == NS_2_0:
        return "2.0.0-cwix2026"
    units = list(descendants(body, "Unit"))
    shape = (
        "CWIX2025"
        if any(child(u, "APP6CSymbol") is not None for u in units)
        or next(descendants(body, "EntityTypeName"), None) is not None
        else "1.0.1"
        if units
        else "1.0.0"
    )
    if namespace != NS_1_1:
        return f"{shape} shape in unknown namespace '{namespace}'"
    return shape


def _header(reader: Reader, header: Element | None, report: ImportReport) -> str:
    if header is None:
        return "UNCLASSIFIED"
    code = reader.text(header, "SecurityClassificationCode")
    sender = reader.text(header, "FromSendingSystem")
    reader.use(header)  # the envelope: addressing and message ids, not scenario data
    if sender:
        report.notes.append(f"message from system '{sender}'")
    if code is None:
        return "UNCLASSIFIED"
    if code not in LEVELS:  # guessing a level could mark the records too low
        raise C2SIMError(f"unknown SecurityClassificationCode '{code}'")
    level = LEVELS[code]
    report.notes.append(f"classification {code}: every record marked {level}")
    return level


def _sides(
    reader: Reader, body: Element, given: Mapping[str, str], report: ImportReport
) -> dict[str, str]:
    nations: dict[str, str] = {}
    names: dict[str, str] = {}
    hostile: list[str] = []
    referenced: set[str] = set()
    for side in descendants(body, "ForceSide"):
        uid = _lower(reader.text(side, "UUID"))
        label = next(iter(reader.texts(side, "Name")), None) or uid or "?"
        if uid is None:
            continue
        names[uid] = label
        nation = given.get(label) or (label if NATION.match(label) else None)
        if nation is None:
            report.notes.append(
                f"side '{label}' is not a nation code: its units are {UNKNOWN_NATION} "
                f"(map it with --side '{label}=NATION')"
            )
            nation = UNKNOWN_NATION
        nations[uid] = nation
        for relation in children(side, "ForceSideRelation"):
            code = reader.text(relation, "HostilityStatusCode")
            other = reader.text(relation, "OtherSide")
            if other is not None:
                referenced.add(other.lower())
            if code != "FR":
                hostile.append(f"'{label}' {code} to {other}")
    if hostile:
        text = "; ".join(hostile)
        for uid, label in names.items():
            text = text.replace(uid, f"'{label}'")
        report.notes.append(
            f"side relations not kept ({text}): a scenario is one alliance, "
            "and the units' SIDCs keep their affiliation"
        )
    undefined = referenced - set(names)
    if undefined:
        report.notes.append(f"sides referenced but not defined: {', '.join(sorted(undefined))}")
    return nations


def _entities(body: Element) -> list[Element]:
    out = []
    for definitions in children(body, "ObjectDefinitions"):
        for entity in children(definitions, "Entity"):
            holder = child(entity, "ActorEntity", "CollectiveEntity", "MilitaryOrganization")
            if holder is not None:
                unit = child(holder, "Unit")  # 1.0.1 on; in 1.0.0 the holder is the unit
                out.append(unit if unit is not None else holder)
    return out


def _unit(reader: Reader, element: Element, report: ImportReport) -> C2SIMUnit | None:
    uid = reader.text(element, "UUID")
    if uid is None:
        report.notes.append("a MilitaryOrganization without a UUID was skipped")
        return None
    unit = C2SIMUnit(uuid=uid.lower(), name=reader.text(element, "Name") or uid)
    unit.side = _lower(reader.text(element, "EntityDescriptor", "Side"))
    unit.superior = _lower(reader.text(element, "EntityDescriptor", "Superior"))
    unit.subordinates = [s.lower() for s in reader.texts(element, "Subordinate")]
    where = child(element, "CurrentState", "PhysicalState", "Location", "GeodeticCoordinate")
    lat, lon = reader.text(where, "Latitude"), reader.text(where, "Longitude")
    if lat is not None and lon is not None:
        try:
            point = (float(lat), float(lon))
        except ValueError:
            point = (math.nan, math.nan)
        if all(math.isfinite(v) for v in point) and abs(point[0]) <= 90 and abs(point[1]) <= 180:
            unit.location = point
        else:
            report.notes.append(f"'{unit.name}': location {lat}, {lon} is not a position")
    for entity_type in children(element, "EntityType"):
        unit.sidc = unit.sidc or reader.text(entity_type, "APP6-SIDC", "SIDCString")
        kind = child(entity_type, "NamedEntityType", "EntityTypeString")
        value = _stripped(kind)
        if value is not None and value in KINDS:  # what allied-c2 writes; others are reported
            unit.kind = OrgKind(value)
            reader.use(kind)
    unit.sidc = unit.sidc or reader.text(element, "APP6CSymbol", "APP6C-SIDC")
    for named in children(element, "NamedEntityType"):  # CWIX2025 and 2.0.0
        value = _stripped(child(named, "EntityTypeName"))
        if _stripped(child(named, "EntityTypeNamespace")) == KIND_NAMESPACE and value in KINDS:
            unit.kind = OrgKind(value)
            reader.use(named)
    unit.echelon = reader.text(element, "EchelonCode")
    for command in children(element, "CommandRelation"):
        actor = _stripped(child(command, "ActorReference"))
        code = _stripped(child(command, "CommandRelationCode")) or ""
        relation = CODES.get(code) or (Relation.OPCON if code in FULL_COMMAND else None)
        if actor is None or relation is None:
            continue  # left in the report as not mapped
        if code in FULL_COMMAND:
            report.notes.append(f"'{unit.name}': {code} ({FULL_COMMAND[code]}) read as OPCON")
        unit.relations.append((actor.lower(), relation))
        reader.use(command)
    return unit


def _stripped(element: Element | None) -> str | None:
    return element.text.strip() if element is not None and element.text else None


def _lower(value: str | None) -> str | None:
    return value.lower() if value else None


def structure_from_units(
    title: str, units: list[C2SIMUnit], nations: Mapping[str, str], report: ImportReport
) -> Structure:
    """What the units say: ids from names, sides as nations, relations, neutral defaults."""
    structure = Structure(name=title)
    id_of: dict[str, str] = {}
    for unit in units:
        base = re.sub(r"[^a-z0-9]+", "_", unit.name.lower()).strip("_") or "unit"
        oid, n = base, 2
        while oid in structure.organisations:
            oid, n = f"{base}_{n}", n + 1
        id_of[unit.uuid] = oid
    guessed: list[str] = []
    for unit in units:
        word = (unit.echelon or "").lower()
        echelon = (
            ECHELON_WORDS.get(unit.echelon or "")
            or (word if word in ECHELON_CODES else None)
            or echelon_from_sidc(unit.sidc)
        )
        if echelon is None:
            guessed.append(unit.name)
        if unit.side is not None and unit.side not in nations:
            report.notes.append(f"'{unit.name}': side {unit.side} is not defined")
        structure.organisations[id_of[unit.uuid]] = Organisation(
            id=id_of[unit.uuid],
            name=unit.name,
            nation=nations.get(unit.side or "", UNKNOWN_NATION),
            kind=unit.kind or OrgKind.UNIT,
            echelon=echelon or "unknown",
            timezone=DEFAULT_TIMEZONE,
            location=Location(*unit.location) if unit.location else None,
            sidc=unit.sidc,
        )
    _relations(structure, units, id_of, report)
    _inherit_nations(structure)
    untyped = sum(1 for u in units if u.kind is None)
    if untyped:
        report.notes.append(
            f"{untyped} units: kind 'unit' and timezone {DEFAULT_TIMEZONE} filled in "
            "(C2SIM has neither)"
        )
    if guessed:
        report.notes.append(f"no echelon code or SIDC size for: {', '.join(guessed)}")
    return structure


def _relations(
    structure: Structure, units: list[C2SIMUnit], id_of: Mapping[str, str], report: ImportReport
) -> None:
    superiors: dict[str, str] = {}
    for unit in units:
        sub = id_of[unit.uuid]
        related = set()
        for actor, relation in unit.relations:
            if actor not in id_of:
                report.notes.append(f"'{unit.name}': CommandRelation to unknown unit {actor}")
                continue
            structure.relationships.append(Relationship(id_of[actor], sub, relation))
            related.add(actor)
        if unit.superior is None:
            continue
        if unit.superior not in id_of:
            report.notes.append(f"'{unit.name}': Superior {unit.superior} is not in the message")
            continue
        superiors[unit.uuid] = unit.superior
        if unit.superior not in related:  # a Superior without a code: command, read as OPCON
            structure.relationships.append(Relationship(id_of[unit.superior], sub, Relation.OPCON))
    for unit in units:
        for sub_uuid in unit.subordinates:
            if sub_uuid not in id_of:
                report.notes.append(f"'{unit.name}': Subordinate {sub_uuid} is not in the message")
            elif sub_uuid not in superiors:
                superiors[sub_uuid] = unit.uuid
                structure.relationships.append(
                    Relationship(id_of[unit.uuid], id_of[sub_uuid], Relation.OPCON)
                )
                report.notes.append(
                    f"'{structure.org(id_of[sub_uuid]).name}' has no Superior: "
                    f"OPCON to '{unit.name}', which lists it as Subordinate"
                )
            elif superiors[sub_uuid] != unit.uuid:
                report.notes.append(
                    f"'{unit.name}' lists {sub_uuid} as Subordinate, whose Superior is "
                    "another unit: the Superior was kept"
                )


def _inherit_nations(structure: Structure) -> None:
    """Units without a side take their superior's nation."""
    for oid, org in list(structure.organisations.items()):
        if org.nation != UNKNOWN_NATION:
            continue
        for ancestor in structure.chain_of_command(oid)[1:]:
            nation = structure.organisations[ancestor].nation
            if nation != UNKNOWN_NATION:
                structure.organisations[oid] = replace(org, nation=nation)
                break

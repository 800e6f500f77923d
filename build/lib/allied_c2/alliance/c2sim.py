"""ORBAT interchange: C2SIM Initialization (SISO-STD-019-2020) out and in, MSDL in.

Element names and order follow the C2SIM 1.0 XML schema (C2SIMArtifacts,
SMX/LOX): ``Message/C2SIMHeader`` + ``MessageBody/C2SIMInitializationBody``
with ``ObjectDefinitions`` (``AbstractObject/ForceSide`` per nation,
``Entity/ActorEntity/CollectiveEntity/MilitaryOrganization/Unit`` per
organisation), ``ScenarioSetting`` and ``SystemEntityList``. A Unit carries
``EntityDescriptor/Side`` and ``Superior``, its location, an ``APP6-SIDC``,
``CommandRelation`` (``OPCON``/``TACCNT``/``ADMCON``/``DIRSUP``/``GENSUP``) and
an ``EchelonCode``. What C2SIM cannot say (time zones, kinds, grades,
counterparts, coordination, COCOM, decision authorities, request kinds,
parameters, exercise data) travels in one ``ac2:AlliedC2`` element in the
``urn:allied-c2:c2sim-extension:1`` namespace at the end of the
initialization body, so a round trip is lossless; without it, import keeps
what plain C2SIM holds. UUIDs are UUID-5 of the organisation ids.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

from lxml import etree  # type: ignore[import-untyped, unused-ignore]

from allied_c2.alliance.c2sim_ext import (
    ExtensionError,
    extension_element,
    read_extension,
    structure_from_units,
)
from allied_c2.alliance.model import Relation, Structure

C2SIM_NS = "http://www.sisostds.org/schemas/C2SIM/1.1"
EXT_NS = "urn:allied-c2:c2sim-extension:1"
PROTOCOL = "SISO-STD-C2SIM"
PROTOCOL_VERSION = "1.0.0"
SYSTEM_NAME = "allied-c2"
MAX_BYTES = 16 * 1024 * 1024

# Relations with a C2SIM CommandRelationCode; the rest exist only in the extension.
C2SIM_CODES: dict[Relation, str] = {
    Relation.OPCON: "OPCON",
    Relation.TACON: "TACCNT",
    Relation.ADCON: "ADMCON",
    Relation.DIRECT_SUPPORT: "DIRSUP",
    Relation.GENERAL_SUPPORT: "GENSUP",
}
ECHELON_CODES = {
    "fleet": "FLEET",
    "army": "ARMY",
    "corps": "CORPS",
    "mef": "CORPS",
    "division": "DIV",
    "brigade": "BDE",
    "regiment": "RGT",
    "group": "BDEGRP",
    "battalion": "BN",
    "company": "COY",
    "platoon": "PLT",
    "squad": "SQUAD",
    "team": "TEAM",
    "wing": "WING",
    "squadron": "SQDRNA",
    "region": "REGION",
    "section": "SECT",
}
LEVEL_CODES = {"TOP SECRET": "TopSecret", "SECRET": "Secret", "CONFIDENTIAL": "Confidential"}
LETTER_SIDC = re.compile(r"^[SGIWMO][PUAFNSHJKO-][PAGMOSTUFVXLIZ-][AP-][A-Z-]{6}[A-Z*-]{2}")


class C2SIMError(ValueError):
    """Input that is not a usable C2SIM or MSDL document."""


def org_uuid(org_id: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"urn:allied-c2:org:{org_id}"))


def side_uuid(nation: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"urn:allied-c2:side:{nation}"))


def _sub(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
    element = etree.SubElement(parent, f"{{{C2SIM_NS}}}{name}")
    if text is not None:
        element.text = text
    return element


def export_c2sim(structure: Structure, *, extension: bool = True) -> bytes:
    """The structure as a C2SIM Initialization message (UTF-8 XML)."""
    root = etree.Element(f"{{{C2SIM_NS}}}Message", nsmap={None: C2SIM_NS, "ac2": EXT_NS})
    header = _sub(root, "C2SIMHeader")
    _sub(header, "CommunicativeActTypeCode", "Inform")
    _sub(
        header,
        "ConversationID",
        str(uuid.uuid5(uuid.NAMESPACE_URL, f"urn:allied-c2:scenario:{structure.name}")),
    )
    _sub(header, "FromSendingSystem", SYSTEM_NAME)
    _sub(
        header,
        "MessageID",
        str(uuid.uuid5(uuid.NAMESPACE_URL, f"urn:allied-c2:init:{structure.name}")),
    )
    _sub(header, "Protocol", PROTOCOL)
    _sub(header, "ProtocolVersion", PROTOCOL_VERSION)
    _sub(header, "SecurityClassificationCode", _classification(structure))
    _sub(header, "ToReceivingSystem", "ALL")
    body = _sub(_sub(root, "MessageBody"), "C2SIMInitializationBody")
    definitions = _sub(body, "ObjectDefinitions")
    nations = sorted({o.nation for o in structure.organisations.values()})
    for nation in nations:
        side = _sub(_sub(definitions, "AbstractObject"), "ForceSide")
        _sub(side, "Name", nation)
        _sub(side, "UUID", side_uuid(nation))
        for other in nations:
            if other != nation:
                relation = _sub(side, "ForceSideRelation")
                _sub(relation, "HostilityStatusCode", "FR")
                _sub(relation, "OtherSide", side_uuid(other))
    for org in structure.organisations.values():
        entity = _sub(definitions, "Entity")
        unit = _sub(
            _sub(_sub(_sub(entity, "ActorEntity"), "CollectiveEntity"), "MilitaryOrganization"),
            "Unit",
        )
        descriptor = _sub(unit, "EntityDescriptor")
        _sub(descriptor, "Side", side_uuid(org.nation))
        parent = structure.command_parent(org.id)
        if parent is not None:
            _sub(descriptor, "Superior", org_uuid(parent))
        if org.location is not None:
            where = _sub(
                _sub(_sub(_sub(unit, "CurrentState"), "PhysicalState"), "Location"),
                "GeodeticCoordinate",
            )
            _sub(where, "Latitude", repr(org.location.lat))
            _sub(where, "Longitude", repr(org.location.lon))
        for child in structure.children(org.id):
            _sub(unit, "Subordinate", org_uuid(child))
        if org.sidc and LETTER_SIDC.match(org.sidc):
            # C2SIM's SIDC type has no country code: positions 13-14 must be "--".
            _sub(
                _sub(_sub(unit, "EntityType"), "APP6-SIDC"),
                "SIDCString",
                org.sidc[:12] + "--" + org.sidc[14:],
            )
        _sub(_sub(_sub(unit, "EntityType"), "NamedEntityType"), "EntityTypeString", org.kind.value)
        _sub(unit, "Name", org.name)
        _sub(unit, "UUID", org_uuid(org.id))
        for rel in structure.relationships:
            if rel.subordinate == org.id and rel.relation in C2SIM_CODES:
                command = _sub(unit, "CommandRelation")
                _sub(command, "ActorReference", org_uuid(rel.superior))
                _sub(command, "CommandRelationCode", C2SIM_CODES[rel.relation])
        _sub(unit, "EchelonCode", ECHELON_CODES.get(org.echelon, "NOS"))
    setting = _sub(body, "ScenarioSetting")
    start = structure.exercise.start if structure.exercise and structure.exercise.start else None
    _sub(_sub(setting, "DateTime"), "IsoDateTime", _iso_seconds(start))
    _sub(setting, "Version", structure.name)
    entities = _sub(body, "SystemEntityList")
    for org in structure.organisations.values():
        _sub(entities, "ActorReference", org_uuid(org.id))
    _sub(entities, "SystemName", SYSTEM_NAME)
    if extension:
        body.append(extension_element(structure, EXT_NS, org_uuid))
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def _classification(structure: Structure) -> str:
    """The message's level: the highest level of any record it carries."""
    markings = [structure.default_marking] + [
        o.marking or "" for o in structure.organisations.values()
    ]
    for level, code in LEVEL_CODES.items():
        if any(m.split("//")[0] == level for m in markings):
            return code
    return "Unclassified"


def _iso_seconds(start: str | None) -> str:
    # The schema wants YYYY-MM-DDTHH:MM:SSZ; with no exercise start there is no scenario time.
    if start is None:
        return "1970-01-01T00:00:00Z"
    return start if len(start) == 20 else start[:-1] + ":00Z"


def parse_xml(data: bytes) -> etree._Element:
    """Parse untrusted XML: no DTDs, entities, network access or huge trees."""
    if len(data) > MAX_BYTES:
        raise C2SIMError(f"document larger than {MAX_BYTES} bytes")
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_pis=True,
    )
    try:
        tree = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise C2SIMError(f"not well-formed XML: {exc}") from exc
    if tree.getroottree().docinfo.doctype:
        raise C2SIMError("documents with a DOCTYPE are refused")
    return tree


def local(element: etree._Element) -> str:
    return str(etree.QName(element).localname)


def children(element: etree._Element, name: str) -> Iterator[etree._Element]:
    return (c for c in element if isinstance(c.tag, str) and local(c) == name)


def child(element: etree._Element | None, *path: str) -> etree._Element | None:
    for name in path:
        if element is None:
            return None
        element = next(children(element, name), None)
    return element


def text(element: etree._Element | None, *path: str) -> str | None:
    found = child(element, *path)
    return found.text.strip() if found is not None and found.text else None


def descendants(element: etree._Element, name: str) -> Iterator[etree._Element]:
    return (e for e in element.iter() if isinstance(e.tag, str) and local(e) == name)


def import_c2sim(data: bytes) -> Structure:
    """A Structure from a C2SIM Initialization message (ours lossless, others best effort)."""
    root = parse_xml(data)
    body = (
        root
        if local(root) == "C2SIMInitializationBody"
        else next(descendants(root, "C2SIMInitializationBody"), None)
    )
    if body is None:
        raise C2SIMError("no C2SIMInitializationBody in the document")
    sides = {text(s, "UUID"): text(s, "Name") for s in descendants(body, "ForceSide")}
    units: list[dict[str, Any]] = []
    for unit in descendants(body, "Unit"):
        uid = text(unit, "UUID")
        if uid is None:
            raise C2SIMError("a Unit without a UUID")
        where = child(unit, "CurrentState", "PhysicalState", "Location", "GeodeticCoordinate")
        lat, lon = text(where, "Latitude"), text(where, "Longitude")
        units.append(
            {
                "uuid": uid,
                "name": text(unit, "Name") or uid,
                "side": sides.get(text(unit, "EntityDescriptor", "Side")),
                "superior": text(unit, "EntityDescriptor", "Superior"),
                "location": (float(lat), float(lon)) if lat and lon else None,
                "sidc": next(
                    (
                        text(t, "APP6-SIDC", "SIDCString")
                        for t in children(unit, "EntityType")
                        if child(t, "APP6-SIDC") is not None
                    ),
                    None,
                ),
                "echelon": text(unit, "EchelonCode"),
                "relations": [
                    (text(c, "ActorReference"), text(c, "CommandRelationCode"))
                    for c in children(unit, "CommandRelation")
                ],
            }
        )
    ext = next(
        (e for e in body if isinstance(e.tag, str) and etree.QName(e).namespace == EXT_NS), None
    )
    codes = {code: relation for relation, code in C2SIM_CODES.items()}
    if ext is not None:
        try:
            return read_extension(ext, units, codes)
        except (ExtensionError, KeyError, ValueError) as exc:
            raise C2SIMError(f"allied-c2 extension unusable: {exc}") from exc
    return structure_from_units(
        text(body, "ScenarioSetting", "Version") or "imported", units, codes
    )


def import_msdl(data: bytes) -> Structure:
    """A Structure from an MSDL (SISO-STD-007-2008) scenario: units, names, sides, superiors."""
    root = parse_xml(data)
    if local(root) != "MilitaryScenario":
        raise C2SIMError("not an MSDL MilitaryScenario document")
    sides = {}
    for side in descendants(root, "ForceSide"):
        name = text(side, "ForceSideName") or text(side, "ObjectHandle") or "UNK"
        country = text(side, "CountryCode")
        sides[text(side, "ObjectHandle")] = country if country else name
    msdl_codes = {"OPCON": Relation.OPCON, "TACON": Relation.TACON, "ADCON": Relation.ADCON}
    units: list[dict[str, Any]] = []
    for unit in descendants(root, "Unit"):
        handle = text(unit, "ObjectHandle")
        if handle is None:
            raise C2SIMError("an MSDL Unit without an ObjectHandle")
        gdc = next(descendants(unit, "GDC"), None)
        lat, lon = text(gdc, "Latitude"), text(gdc, "Longitude")
        relation = child(unit, "Relations", "ForceRelation")
        choice = text(relation, "ForceRelationChoice")
        data_el = child(relation, "ForceRelationData")
        superior = (
            text(data_el, "CommandRelation", "CommandingSuperiorHandle")
            if choice == "UNIT"
            else None
        )
        kind = text(data_el, "CommandRelation", "CommandRelationshipType") or ""
        units.append(
            {
                "uuid": handle,
                "name": text(unit, "Name") or handle,
                "side": sides.get(text(data_el, "ForceSideHandle"))
                if choice == "FORCE_SIDE"
                else None,
                "superior": superior,
                "location": (float(lat), float(lon)) if lat and lon else None,
                "sidc": text(unit, "SymbolIdentifier"),
                "echelon": (text(unit, "UnitSymbolModifiers", "Echelon") or "").lower() or None,
                # Organic, attached and assigned units are under full command: model as OPCON.
                "relations": [(superior, msdl_codes.get(kind, Relation.OPCON).value)]
                if superior
                else [],
            }
        )
    name = text(root, "ScenarioID", "name") or text(root, "ScenarioID", "Name") or "msdl-import"
    codes = {r.value: r for r in msdl_codes.values()} | {"OPCON": Relation.OPCON}
    return structure_from_units(name, units, codes)

"""C2SIM Initialization out (SISO-STD-019-2020), valid against the chosen schema.

Every target version gets the shape its XSD asks for (``c2sim_xml.VERSIONS``):

* 1.0.0, the published standard: ``MilitaryOrganization`` itself holds the unit
  (``EntityDescriptor/Side`` and ``Superior``, location, ``Subordinate``,
  ``EntityType`` with ``APP6-SIDC`` and the kind as ``NamedEntityType``, ``Name``,
  ``UUID``); it has no ``CommandRelation`` and no ``EchelonCode``.
* 1.0.1: the same inside ``MilitaryOrganization/Unit``, plus ``CommandRelation``
  (``OPCON``, ``TACCNT``, ``ADMCON``, ``DIRSUP``, ``GENSUP``, and COCOM written as
  NATO's ``OPCOMD``, the nearest code) and ``EchelonCode``.
* CWIX2025 and 2.0.0-cwix2026: ``Unit`` with ``APP6CSymbol/APP6C-SIDC`` and
  ``NamedEntityType`` as name + namespace; 2.0.0 has its own namespace and no
  classification in the header.

None of the schemas has an extension point (no ``xs:any``), so what C2SIM cannot
hold travels in a companion scenario file (``c2sim_companion``), never inside the
message. The header's ``SecurityClassificationCode`` is the level of the roll-up
of every record's marking; C2SIM has no code for releasability, which the
companion and the HTTP banner carry. UUIDs are UUID-5 of the organisation ids, so
an export is deterministic.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime

from lxml import etree  # type: ignore[import-untyped, unused-ignore]

from allied_c2.alliance.c2sim_xml import (
    DEFAULT_VERSION,
    ISO_SECONDS,
    C2SIMError,
    Version,
    version,
)
from allied_c2.alliance.model import Organisation, Relation, Structure
from allied_c2.alliance.symbology import is_letter_sidc
from allied_c2.cot.xmltree import Element
from allied_c2.security.markings import Marking, MarkingError, parse_banner, rollup
from allied_c2.security.policy import DEFAULT_POLICY, SecurityPolicy

PROTOCOL = "SISO-STD-C2SIM"
SYSTEM_NAME = "allied-c2"
KIND_NAMESPACE = "urn:allied-c2:organisation-kind"  # NamedEntityType of an org's kind
NO_SCENARIO_TIME = "1970-01-01T00:00:00Z"  # ScenarioSetting needs a time; none is known

# Relations with a C2SIM CommandRelationCode; COORD and COUNTERPART have none.
C2SIM_CODES: dict[Relation, str] = {
    Relation.OPCON: "OPCON",
    Relation.TACON: "TACCNT",
    Relation.ADCON: "ADMCON",
    Relation.DIRECT_SUPPORT: "DIRSUP",
    Relation.GENERAL_SUPPORT: "GENSUP",
    Relation.COCOM: "OPCOMD",
}
# Scenario echelon words -> EchelonCode; the first word of a code is what import gives back.
ECHELON_CODES: dict[str, str] = {
    "team": "TEAM",
    "squad": "SQUAD",
    "section": "SECT",
    "platoon": "PLT",
    "company": "COY",
    "battalion": "BN",
    "regiment": "RGT",
    "brigade": "BDE",
    "division": "DIV",
    "corps": "CORPS",
    "army": "ARMY",
    "army_group": "AG",
    "region": "REGION",
    "fleet": "FLEET",
    "wing": "WING",
    "squadron": "SQDRNA",
    "group": "BDEGRP",
    "task_force": "NTF",
    "mef": "CORPS",
}
UNKNOWN_ECHELON = "NOS"  # "not otherwise specified"
# The common lattice's levels -> SecurityClassificationCode. RESTRICTED has no code:
# the next one up, so a message is never marked below what it carries.
LEVEL_CODES = {
    "UNCLASSIFIED": "Unclassified",
    "RESTRICTED": "Confidential",
    "CONFIDENTIAL": "Confidential",
    "SECRET": "Secret",
    "TOP SECRET": "TopSecret",
}
# SecurityClassificationCode -> the level a record or event carrying it is marked.
LEVELS = {
    "Unclassified": "UNCLASSIFIED",
    "Confidential": "CONFIDENTIAL",
    "Secret": "SECRET",
    "TopSecret": "TOP SECRET",
}


def org_uuid(org_id: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"urn:allied-c2:org:{org_id}"))


def side_uuid(nation: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"urn:allied-c2:side:{nation}"))


def c2sim_sidc(sidc: str | None) -> str | None:
    """A letter SIDC as C2SIM's pattern takes it (no country code: positions 13-14 "--")."""
    if not is_letter_sidc(sidc) or sidc is None:
        return None
    return sidc[:12].upper() + "--" + sidc[14:].upper()


def level_code(markings: Iterable[Marking], policy: SecurityPolicy = DEFAULT_POLICY) -> str:
    """The SecurityClassificationCode of a document carrying items with ``markings``."""
    rank = rollup(markings, policy).rank
    return LEVEL_CODES.get(policy.rank_name(rank), "TopSecret")


def structure_markings(structure: Structure, policy: SecurityPolicy) -> list[Marking]:
    banners = {structure.default_marking} | {
        o.marking for o in structure.organisations.values() if o.marking
    }
    try:
        return [parse_banner(b, policy, strict=False) for b in sorted(banners)]
    except MarkingError as exc:
        raise C2SIMError(f"a record's marking does not parse: {exc}") from exc


class Writer:
    """Elements in one version's namespace, in its schema's order."""

    def __init__(self, target: Version) -> None:
        self.v = target

    def el(self, parent: Element | None, name: str, text: str | None = None) -> Element:
        tag = f"{{{self.v.namespace}}}{name}"
        node = (
            etree.Element(tag, nsmap={None: self.v.namespace})
            if parent is None
            else etree.SubElement(parent, tag)
        )
        if text is not None:
            node.text = text
        return node

    def header(self, parent: Element, conversation: str, message: str, level: str) -> None:
        header = self.el(parent, "C2SIMHeader")
        if self.v.header_codes:
            self.el(header, "CommunicativeActTypeCode", "Inform")
        self.el(header, "ConversationID", conversation)
        self.el(header, "FromSendingSystem", SYSTEM_NAME)
        self.el(header, "MessageID", message)
        self.el(header, "Protocol", PROTOCOL)
        self.el(header, "ProtocolVersion", self.v.protocol_version)
        if self.v.header_codes:
            self.el(header, "SecurityClassificationCode", level)
        self.el(header, "ToReceivingSystem", "ALL")

    def location(self, parent: Element, lat: float, lon: float) -> None:
        where = self.el(self.el(parent, "Location"), "GeodeticCoordinate")
        self.el(where, "Latitude", repr(lat))
        self.el(where, "Longitude", repr(lon))

    def unit(self, parent: Element, structure: Structure, org: Organisation) -> None:
        holder = self.el(
            self.el(self.el(self.el(parent, "Entity"), "ActorEntity"), "CollectiveEntity"),
            "MilitaryOrganization",
        )
        unit = self.el(holder, "Unit") if self.v.unit_element else holder
        descriptor = self.el(unit, "EntityDescriptor")
        self.el(descriptor, "Side", side_uuid(org.nation))
        superior = structure.command_parent(org.id)
        if superior is not None:
            self.el(descriptor, "Superior", org_uuid(superior))
        if org.location is not None:
            state = self.el(self.el(unit, "CurrentState"), "PhysicalState")
            self.location(state, org.location.lat, org.location.lon)
        for sub in structure.children(org.id):
            # Only the tree Superior draws; other command relations are CommandRelations.
            if structure.command_parent(sub) == org.id:
                self.el(unit, "Subordinate", org_uuid(sub))
        sidc = c2sim_sidc(org.sidc)
        if self.v.app6c:
            if sidc is not None:
                self.el(self.el(unit, "APP6CSymbol"), "APP6C-SIDC", sidc)
            self.el(unit, "Name", org.name)
            named = self.el(unit, "NamedEntityType")
            self.el(named, "EntityTypeName", org.kind.value)
            self.el(named, "EntityTypeNamespace", KIND_NAMESPACE)
        else:
            if sidc is not None:
                self.el(self.el(self.el(unit, "EntityType"), "APP6-SIDC"), "SIDCString", sidc)
            named = self.el(self.el(unit, "EntityType"), "NamedEntityType")
            self.el(named, "EntityTypeString", org.kind.value)
            self.el(unit, "Name", org.name)
        self.el(unit, "UUID", org_uuid(org.id))
        if self.v.command_relations:
            for rel in structure.relationships:
                if rel.subordinate == org.id and rel.relation in C2SIM_CODES:
                    command = self.el(unit, "CommandRelation")
                    self.el(command, "ActorReference", org_uuid(rel.superior))
                    self.el(command, "CommandRelationCode", C2SIM_CODES[rel.relation])
            self.el(unit, "EchelonCode", ECHELON_CODES.get(org.echelon, UNKNOWN_ECHELON))


def export_c2sim(
    structure: Structure,
    *,
    c2sim_version: str = DEFAULT_VERSION,
    header: bool = True,
    policy: SecurityPolicy = DEFAULT_POLICY,
) -> bytes:
    """The structure as a C2SIM Initialization (UTF-8 XML) valid against ``c2sim_version``.

    ``header`` writes ``Message`` (C2SIMHeader + MessageBody, as TNO's server
    exchanges it, with the classification); without it the root is ``MessageBody``,
    the form the GMU/OpenC2SIM server accepts.
    """
    if not structure.organisations:
        raise C2SIMError("nothing to export: the structure has no organisations")
    w = Writer(version(c2sim_version))
    if header:
        root = w.el(None, "Message")
        scenario = f"urn:allied-c2:scenario:{structure.name}"
        w.header(
            root,
            str(uuid.uuid5(uuid.NAMESPACE_URL, scenario)),
            str(uuid.uuid5(uuid.NAMESPACE_URL, f"{scenario}:init:{c2sim_version}")),
            level_code(structure_markings(structure, policy), policy),
        )
        body = w.el(w.el(root, "MessageBody"), "C2SIMInitializationBody")
    else:
        root = w.el(None, "MessageBody")
        body = w.el(root, "C2SIMInitializationBody")
    definitions = w.el(body, "ObjectDefinitions")
    nations = sorted({o.nation for o in structure.organisations.values()})
    for nation in nations:
        side = w.el(w.el(definitions, "AbstractObject"), "ForceSide")
        w.el(side, "Name", nation)
        w.el(side, "UUID", side_uuid(nation))
        for other in nations:
            if other != nation:  # an alliance: every side is friendly to every other
                relation = w.el(side, "ForceSideRelation")
                w.el(relation, "HostilityStatusCode", "FR")
                w.el(relation, "OtherSide", side_uuid(other))
    for org in structure.organisations.values():
        w.unit(definitions, structure, org)
    setting = w.el(body, "ScenarioSetting")
    start = structure.exercise.start if structure.exercise else None
    w.el(w.el(setting, "DateTime"), "IsoDateTime", iso_seconds(start))
    w.el(setting, "Version", structure.name)
    entities = w.el(body, "SystemEntityList")
    for org in structure.organisations.values():
        w.el(entities, "ActorReference", org_uuid(org.id))
    w.el(entities, "SystemName", SYSTEM_NAME)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def iso_seconds(value: str | datetime | None) -> str:
    """C2SIM's IsoDateTime (``YYYY-MM-DDTHH:MM:SSZ``) of an ISO 8601 time, in UTC."""
    if value is None:
        return NO_SCENARIO_TIME
    try:
        when = (
            value
            if isinstance(value, datetime)
            else datetime.fromisoformat(value.replace("Z", "+00:00"))
        )
    except ValueError:
        return NO_SCENARIO_TIME
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    return when.astimezone(UTC).strftime(ISO_SECONDS)

"""C2SIM Initialization export and import with the companion, MSDL import, the parser."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from lxml import etree  # type: ignore[import-untyped, unused-ignore]

from allied_c2.alliance.c2sim import export_c2sim, org_uuid
from allied_c2.alliance.c2sim_companion import companion_path, companion_text
from allied_c2.alliance.c2sim_import import import_c2sim, read_initialization
from allied_c2.alliance.c2sim_xml import NS_1_1, NS_2_0, VERSIONS, C2SIMError
from allied_c2.alliance.model import Relation, Structure
from allied_c2.alliance.msdl import import_msdl
from allied_c2.alliance.scenario import load_scenario_text, load_structure

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
NS = {"c": NS_1_1}
# SymbolIDCodeString in the C2SIM schema (country positions must be "--").
C2SIM_SIDC = re.compile(
    r"^[SGIWMO][PUAFNSHJKO-][PAGMOSTUFVXLIZ-][AP-][A-Z-]{6}[A-Z*-]{2}--[AECGNSX*-]$"
)
UNIT_1_0_1 = (
    "c:MessageBody/c:C2SIMInitializationBody/c:ObjectDefinitions/c:Entity/c:ActorEntity/"
    "c:CollectiveEntity/c:MilitaryOrganization/c:Unit"
)


def companion(structure: Structure, version: str = "1.0.0") -> Structure:
    """The companion file's scenario, as the export writes it and import reads it."""
    return load_scenario_text(companion_text(structure, "x.xml", version), "x.allied-c2.yaml")


@pytest.mark.parametrize("version", list(VERSIONS))
@pytest.mark.parametrize(
    ("name", "overrides"),
    [
        ("alliance-2024.yaml", None),
        ("alliance-jfhq.yaml", {"delegation": "full", "jfhq_commander_grade": "O-10"}),
        ("trilateral-hadr.yaml", None),
    ],
)
def test_message_and_companion_give_back_an_equal_structure(
    name: str, overrides: dict[str, object] | None, version: str
) -> None:
    structure = load_structure(SCENARIOS / name, overrides)
    xml = export_c2sim(structure, c2sim_version=version)
    assert b"allied-c2:c2sim-extension" not in xml  # the message is plain C2SIM
    assert read_initialization(xml, companion=companion(structure, version)).structure == structure
    assert export_c2sim(structure, c2sim_version=version) == xml  # UUIDs derive from ids


def test_each_version_has_its_schemas_shape() -> None:
    structure = load_structure(SCENARIOS / "alliance-jfhq.yaml", {"delegation": "full"})
    root = etree.fromstring(export_c2sim(structure, c2sim_version="1.0.1"))
    assert root.tag == f"{{{NS_1_1}}}Message"
    assert root.findtext("c:C2SIMHeader/c:SecurityClassificationCode", namespaces=NS) == "Secret"
    units = root.findall(UNIT_1_0_1, NS)
    assert len(units) == len(structure.organisations)
    codes = {e.text for e in root.iterfind(".//c:CommandRelationCode", NS)}
    assert codes == {"OPCON", "TACCNT", "ADMCON", "DIRSUP", "GENSUP", "OPCOMD"}
    assert {e.text for e in root.iterfind(".//c:ForceSide/c:Name", NS)} == {"USA", "JPN", "MULTI"}
    for sidc in root.iterfind(".//c:SIDCString", NS):
        assert C2SIM_SIDC.match(sidc.text or ""), sidc.text
    c7f = next(u for u in units if u.findtext("c:UUID", namespaces=NS) == org_uuid("c7f"))
    assert c7f.findtext("c:EntityDescriptor/c:Superior", namespaces=NS) == org_uuid("pacflt")
    assert c7f.findtext("c:EchelonCode", namespaces=NS) == "FLEET"
    tacon = [
        r.findtext("c:ActorReference", namespaces=NS)
        for r in c7f.iterfind("c:CommandRelation", NS)
        if r.findtext("c:CommandRelationCode", namespaces=NS) == "TACCNT"
    ]
    assert tacon == [org_uuid("usfj")]
    # 1.0.0: the MilitaryOrganization is the unit; no CommandRelation, no EchelonCode.
    plain = etree.fromstring(export_c2sim(structure))
    assert plain.find(".//c:Unit", NS) is None and plain.find(".//c:EchelonCode", NS) is None
    assert plain.find(".//c:MilitaryOrganization/c:EntityType/c:APP6-SIDC", NS) is not None
    # CWIX2025: APP6CSymbol; 2.0.0: its own namespace and no classification code.
    cwix = etree.fromstring(export_c2sim(structure, c2sim_version="cwix2025"))
    assert cwix.find(".//c:Unit/c:APP6CSymbol/c:APP6C-SIDC", NS) is not None
    draft = etree.fromstring(export_c2sim(structure, c2sim_version="2.0.0-cwix2026"))
    assert draft.tag == f"{{{NS_2_0}}}Message"
    assert draft.find(".//{*}SecurityClassificationCode") is None
    body_only = etree.fromstring(export_c2sim(structure, header=False))
    assert body_only.tag == f"{{{NS_1_1}}}MessageBody"


@pytest.mark.parametrize("version", ["1.0.0", "1.0.1"])
def test_the_message_alone_keeps_units_sides_and_command_parents(version: str) -> None:
    structure = load_structure(SCENARIOS / "trilateral-hadr.yaml")
    plain = import_c2sim(export_c2sim(structure, c2sim_version=version))
    by_name = {o.name: o for o in plain.organisations.values()}
    assert len(by_name) == len(structure.organisations)
    for org in structure.organisations.values():
        imported = by_name[org.name]
        assert (imported.nation, imported.location, imported.kind) == (
            org.nation,
            org.location,
            org.kind,
        )
        parent, got = structure.command_parent(org.id), plain.command_parent(imported.id)
        assert (got and plain.org(got).name) == (parent and structure.org(parent).name)


def test_a_stale_companion_is_refused() -> None:
    structure = load_structure(SCENARIOS / "alliance-2024.yaml")
    xml = export_c2sim(structure, c2sim_version="1.0.1").replace(
        b"<CommandRelationCode>GENSUP</CommandRelationCode>",
        b"<CommandRelationCode>TACCNT</CommandRelationCode>",
    )
    with pytest.raises(C2SIMError, match="not in the companion"):
        read_initialization(xml, companion=companion(structure))
    fewer = load_structure(SCENARIOS / "alliance-2024.yaml")
    del fewer.organisations["usfj_j2"]
    fewer.relationships = [
        r for r in fewer.relationships if "usfj_j2" not in (r.superior, r.subordinate)
    ]
    with pytest.raises(C2SIMError, match="units the companion does not describe"):
        read_initialization(export_c2sim(structure), companion=fewer)


def test_names_and_locations_come_from_the_message() -> None:
    structure = load_structure(SCENARIOS / "alliance-2024.yaml")
    xml = export_c2sim(structure).replace(b"US 7th Fleet", b"Seventh Fleet")
    result = read_initialization(xml, companion=companion(structure))
    assert result.structure.org("c7f").name == "Seventh Fleet"
    assert "'c7f': name and location taken from the message" in result.report.notes


def test_companion_sits_beside_the_message() -> None:
    assert companion_path(Path("out/orbat.xml")) == Path("out/orbat.allied-c2.yaml")


def test_parser_refuses_doctype_and_entities() -> None:
    evil = (
        b'<?xml version="1.0"?><!DOCTYPE m [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<Message xmlns="http://www.sisostds.org/schemas/C2SIM/1.1"><Name>&x;</Name></Message>'
    )
    with pytest.raises(C2SIMError):
        import_c2sim(evil)
    with pytest.raises(C2SIMError, match="no C2SIMInitializationBody"):
        import_c2sim(b"<Message/>")
    with pytest.raises(C2SIMError, match="not well-formed"):
        import_c2sim(b"<Message>")


MSDL = b"""<?xml version="1.0" encoding="UTF-8"?>
<MilitaryScenario xmlns="urn:sisostds:scenario:military:data:draft:msdl:1">
 <ScenarioID><name>Test ORBAT</name></ScenarioID>
 <ForceSides><ForceSide><ObjectHandle>side-1</ObjectHandle>
  <ForceSideName>BLUFOR</ForceSideName><CountryCode>USA</CountryCode></ForceSide></ForceSides>
 <Organizations><Units>
  <Unit><ObjectHandle>u1</ObjectHandle><SymbolIdentifier>SFGPUCI----H---</SymbolIdentifier>
   <Name>1st Brigade</Name><UnitSymbolModifiers><Echelon>BRIGADE</Echelon></UnitSymbolModifiers>
   <Disposition><Location><CoordinateChoice>GDC</CoordinateChoice><CoordinateData><GDC>
    <Latitude>35.5</Latitude><Longitude>139.4</Longitude><ElevationAGL>0</ElevationAGL>
   </GDC></CoordinateData></Location></Disposition>
   <Relations><ForceRelation><ForceRelationChoice>FORCE_SIDE</ForceRelationChoice>
    <ForceRelationData><ForceSideHandle>side-1</ForceSideHandle></ForceRelationData>
   </ForceRelation></Relations></Unit>
  <Unit><ObjectHandle>u2</ObjectHandle><SymbolIdentifier>SFGPUCI----F---</SymbolIdentifier>
   <Name>2nd Battalion</Name>
   <Relations><ForceRelation><ForceRelationChoice>UNIT</ForceRelationChoice>
    <ForceRelationData><CommandRelation><CommandingSuperiorHandle>u1</CommandingSuperiorHandle>
     <CommandRelationshipType>TACON</CommandRelationshipType></CommandRelation>
   </ForceRelationData></ForceRelation></Relations></Unit>
  <Unit><ObjectHandle>u3</ObjectHandle><Name>3rd Battalion</Name>
   <Relations><ForceRelation><ForceRelationChoice>UNIT</ForceRelationChoice>
    <ForceRelationData><CommandRelation><CommandingSuperiorHandle>u1</CommandingSuperiorHandle>
     <CommandRelationshipType>ORGANIC</CommandRelationshipType></CommandRelation>
   </ForceRelationData></ForceRelation></Relations></Unit>
 </Units></Organizations>
</MilitaryScenario>
"""


def test_msdl_units_names_and_superiors() -> None:
    s = import_msdl(MSDL)
    assert s.name == "Test ORBAT"
    assert list(s.organisations) == ["1st_brigade", "2nd_battalion", "3rd_battalion"]
    brigade = s.org("1st_brigade")
    assert brigade.nation == "USA" and brigade.echelon == "brigade"
    assert brigade.location is not None and brigade.location.lat == 35.5
    assert s.org("2nd_battalion").nation == "USA"  # inherited from the superior's side
    relations = {(r.superior, r.subordinate, r.relation) for r in s.relationships}
    assert relations == {
        ("1st_brigade", "2nd_battalion", Relation.TACON),
        ("1st_brigade", "3rd_battalion", Relation.OPCON),
    }

"""C2SIM Initialization export and import, MSDL import, and the hardened parser."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from lxml import etree  # type: ignore[import-untyped, unused-ignore]

from allied_c2.alliance.c2sim import (
    C2SIM_NS,
    C2SIMError,
    export_c2sim,
    import_c2sim,
    import_msdl,
    org_uuid,
)
from allied_c2.alliance.model import Relation
from allied_c2.alliance.scenario import load_structure

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
NS = {"c": C2SIM_NS}
# SymbolIDCodeString in the C2SIM schema (country positions must be "--").
C2SIM_SIDC = re.compile(
    r"^[SGIWMO][PUAFNSHJKO-][PAGMOSTUFVXLIZ-][AP-][A-Z-]{6}[A-Z*-]{2}--[AECGNSX*-]$"
)


@pytest.mark.parametrize(
    ("name", "overrides"),
    [
        ("alliance-2024.yaml", None),
        ("alliance-jfhq.yaml", {"delegation": "full", "jfhq_commander_grade": "O-10"}),
        ("trilateral-hadr.yaml", None),
    ],
)
def test_round_trip_gives_an_equal_structure(
    name: str, overrides: dict[str, object] | None
) -> None:
    structure = load_structure(SCENARIOS / name, overrides)
    xml = export_c2sim(structure)
    assert import_c2sim(xml) == structure
    assert export_c2sim(structure) == xml  # deterministic: UUIDs derive from ids


def test_message_uses_c2sim_elements_and_codes() -> None:
    structure = load_structure(SCENARIOS / "alliance-jfhq.yaml", {"delegation": "full"})
    root = etree.fromstring(export_c2sim(structure))
    assert root.tag == f"{{{C2SIM_NS}}}Message"
    assert root.findtext("c:C2SIMHeader/c:SecurityClassificationCode", namespaces=NS) == "Secret"
    units = root.findall(
        "c:MessageBody/c:C2SIMInitializationBody/c:ObjectDefinitions/c:Entity/c:ActorEntity/"
        "c:CollectiveEntity/c:MilitaryOrganization/c:Unit",
        NS,
    )
    assert len(units) == len(structure.organisations)
    codes = {e.text for e in root.iterfind(".//c:CommandRelationCode", NS)}
    assert codes == {"OPCON", "TACCNT", "ADMCON", "DIRSUP", "GENSUP"}
    sides = {e.text for e in root.iterfind(".//c:ForceSide/c:Name", NS)}
    assert sides == {"USA", "JPN", "MULTI"}
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
    # Unit children follow the schema's sequence.
    order = [etree.QName(c).localname for c in c7f]
    assert order.index("EntityDescriptor") < order.index("CurrentState") < order.index("EntityType")
    assert (
        order.index("Name")
        < order.index("UUID")
        < order.index("CommandRelation")
        < order.index("EchelonCode")
    )


def test_plain_c2sim_keeps_units_sides_and_command_relations() -> None:
    structure = load_structure(SCENARIOS / "trilateral-hadr.yaml")
    plain = import_c2sim(export_c2sim(structure, extension=False))
    by_name = {o.name: o for o in plain.organisations.values()}
    assert len(by_name) == len(structure.organisations)
    for org in structure.organisations.values():
        imported = by_name[org.name]
        assert imported.nation == org.nation
        assert imported.location == org.location
        parent = structure.command_parent(org.id)
        got = plain.command_parent(imported.id)
        if parent is not None and structure.org(parent).name in by_name:
            # COCOM has no C2SIM code; it arrives as a Superior and is read as OPCON.
            assert got is not None and plain.org(got).name == structure.org(parent).name


def test_stale_extension_is_refused() -> None:
    structure = load_structure(SCENARIOS / "alliance-2024.yaml")
    xml = export_c2sim(structure).replace(
        b"<CommandRelationCode>GENSUP</CommandRelationCode>",
        b"<CommandRelationCode>TACCNT</CommandRelationCode>",
    )
    with pytest.raises(C2SIMError, match="not in the extension"):
        import_c2sim(xml)


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

"""MSDL (SISO-STD-007-2008) in: ``ForceSides``, ``Organizations/Units/Unit`` (name,
symbol, echelon, GDC location) and ``Relations/ForceRelation`` superiors.

Organic, attached and assigned units are under full command and read as OPCON;
everything C2SIM import fills in (kind, time zone) is filled in the same way.
"""

from __future__ import annotations

from allied_c2.alliance.c2sim_import import C2SIMUnit, ImportReport, structure_from_units
from allied_c2.alliance.c2sim_xml import C2SIMError, Reader, child, descendants, local, parse_xml
from allied_c2.alliance.model import Relation, Structure

RELATIONS = {"OPCON": Relation.OPCON, "TACON": Relation.TACON, "ADCON": Relation.ADCON}


def import_msdl(data: bytes) -> Structure:
    """A Structure from an MSDL MilitaryScenario: units, names, sides, superiors."""
    root = parse_xml(data)
    if local(root) != "MilitaryScenario":
        raise C2SIMError("not an MSDL MilitaryScenario document")
    read = Reader()
    nations: dict[str, str] = {}
    for side in descendants(root, "ForceSide"):
        handle = read.text(side, "ObjectHandle")
        name = read.text(side, "ForceSideName") or handle or "UNK"
        if handle is not None:
            nations[handle] = read.text(side, "CountryCode") or name
    units: list[C2SIMUnit] = []
    for unit in descendants(root, "Unit"):
        handle = read.text(unit, "ObjectHandle")
        if handle is None:
            raise C2SIMError("an MSDL Unit without an ObjectHandle")
        gdc = next(descendants(unit, "GDC"), None)
        lat, lon = read.text(gdc, "Latitude"), read.text(gdc, "Longitude")
        relation = child(unit, "Relations", "ForceRelation")
        choice = read.text(relation, "ForceRelationChoice")
        data_el = child(relation, "ForceRelationData")
        superior = (
            read.text(data_el, "CommandRelation", "CommandingSuperiorHandle")
            if choice == "UNIT"
            else None
        )
        kind = read.text(data_el, "CommandRelation", "CommandRelationshipType") or ""
        units.append(
            C2SIMUnit(
                uuid=handle,
                name=read.text(unit, "Name") or handle,
                side=read.text(data_el, "ForceSideHandle") if choice == "FORCE_SIDE" else None,
                superior=superior,
                location=(float(lat), float(lon)) if lat and lon else None,
                sidc=read.text(unit, "SymbolIdentifier"),
                echelon=read.text(unit, "UnitSymbolModifiers", "Echelon"),
                relations=[(superior, RELATIONS.get(kind, Relation.OPCON))] if superior else [],
            )
        )
    title = read.text(root, "ScenarioID", "name") or read.text(root, "ScenarioID", "Name")
    return structure_from_units(title or "msdl-import", units, nations, ImportReport("MSDL"))

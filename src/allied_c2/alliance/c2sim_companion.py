"""The companion of a C2SIM export: what C2SIM cannot hold, in a file beside it.

No C2SIM schema has an extension point (no ``xs:any``), so the message stays
plain and valid, and ``NAME.allied-c2.yaml`` beside ``NAME.xml`` holds the whole
scenario: time zones, kinds, grades, markings, duty hours, counterparts, COORD
relations, decision authorities, request kinds, parameters and exercise data. It
is an ordinary scenario file (``allied-c2 scenario validate`` and ``serve
--scenario`` take it), and its organisations are the message's units by UUID
(UUID-5 of the ids, as the export writes them).

On import the message wins for what it holds (names and locations: a C2SIM tool
may have moved or renamed units), and a companion that disagrees with it on the
units, their sides or their command relations is refused as stale rather than
trusted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from allied_c2.alliance.c2sim import C2SIM_CODES, org_uuid, side_uuid
from allied_c2.alliance.c2sim_xml import C2SIMError
from allied_c2.alliance.model import Location, Structure
from allied_c2.alliance.scenario import dump_structure

if TYPE_CHECKING:
    from allied_c2.alliance.c2sim_import import C2SIMUnit

SUFFIX = ".allied-c2.yaml"


def companion_path(c2sim_file: Path) -> Path:
    """``orbat.xml`` -> ``orbat.allied-c2.yaml`` (same folder)."""
    return c2sim_file.with_name(c2sim_file.stem + SUFFIX)


def companion_text(structure: Structure, c2sim_name: str, c2sim_version: str) -> str:
    header = (
        f"# allied-c2 companion of {c2sim_name} (C2SIM {c2sim_version}): the whole scenario,\n"
        "# including what C2SIM cannot hold. Organisations are the message's units by UUID\n"
        "# (UUID-5 of the id). `allied-c2 scenario import` reads it back beside the message.\n"
    )
    return header + dump_structure(structure)


def reconcile(
    companion: Structure,
    units: Sequence[C2SIMUnit],
    side_nations: Mapping[str, str],
    notes: list[str],
) -> Structure:
    """``companion`` with the names and locations the message gives its units."""
    ids = {org_uuid(oid): oid for oid in companion.organisations}
    extra = [u.name for u in units if u.uuid not in ids]
    if extra:
        raise C2SIMError(
            f"the message has units the companion does not describe: {', '.join(extra[:5])} "
            "(re-export both, or import without the companion)"
        )
    present = {u.uuid for u in units}
    missing = [oid for uid, oid in ids.items() if uid not in present]
    if missing:
        raise C2SIMError(
            f"the companion describes organisations the message does not have: "
            f"{', '.join(missing[:5])} (re-export both, or import without the companion)"
        )
    declared = {(r.superior, r.subordinate, r.relation) for r in companion.relationships}
    codes = set(C2SIM_CODES)
    changed = replace(companion, organisations=dict(companion.organisations))
    for unit in units:
        oid = ids[unit.uuid]
        org = companion.organisations[oid]
        if unit.side is not None and unit.side != side_uuid(org.nation):
            nation = side_nations.get(unit.side, unit.side)
            raise C2SIMError(f"'{oid}' is on side {nation} but the companion says {org.nation}")
        superior = companion.command_parent(oid)
        if unit.superior is not None and unit.superior != (superior and org_uuid(superior)):
            raise C2SIMError(f"the Superior of '{oid}' is not its command parent in the companion")
        for actor, relation in unit.relations:
            if relation in codes and (ids.get(actor), oid, relation) not in declared:
                code = C2SIM_CODES[relation]
                raise C2SIMError(f"CommandRelation {code} of '{oid}' is not in the companion")
        location = Location(*unit.location) if unit.location else None
        if unit.name != org.name or location != org.location:
            notes.append(f"'{oid}': name and location taken from the message")
            changed.organisations[oid] = replace(org, name=unit.name, location=location)
    notes.append("everything else from the companion scenario")
    return changed

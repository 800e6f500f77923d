"""A real Initialization (Sketch-Thru-Plan's SimpleAttack100) becomes a scenario."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from allied_c2.alliance.c2sim import export_c2sim
from allied_c2.alliance.c2sim_import import read_initialization
from allied_c2.alliance.c2sim_xml import VERSIONS
from allied_c2.alliance.model import OrgKind, Relation
from allied_c2.alliance.scenario import dump_structure, load_scenario_text, load_structure
from allied_c2.alliance.validation import validate_text
from allied_c2.cli.main import app
from tests.alliance.c2sim_material import STP, assert_valid, material, sample

NAMES = [
    "A/1-15",
    "1/A/1-15",
    "2/A/1-15",
    "B/2-69",
    "ENEMY IED EQUIPMENT",
    "FRIENDLY TANK HEAVY EQUIPMENT",
    "ENEMY INFANTRY PLATOON",
]


def test_units_hierarchy_positions_and_symbols() -> None:
    result = read_initialization(sample(STP), sides={"Friendly": "USA"})
    s = result.structure
    assert [o.name for o in s.organisations.values()] == NAMES
    assert result.report.units == 7 and result.report.source_version == "1.0.0"
    company = s.org("a_1_15")
    assert (company.nation, company.echelon, company.kind) == ("USA", "company", OrgKind.UNIT)
    assert company.sidc == "SFGPUCIZ---E---" and company.location is not None
    assert company.location.lat == pytest.approx(19.9637562863072)
    assert s.children("a_1_15") == ["1_a_1_15", "2_a_1_15"]
    assert {r.relation for r in s.relationships} == {Relation.OPCON}
    assert s.org("1_a_1_15").location is None and s.org("1_a_1_15").echelon == "platoon"
    assert s.org("enemy_infantry_platoon").nation == "UNK"  # side "Hostile" was not mapped
    assert s.exercise is not None and s.exercise.start == "2021-12-15T13:18:30Z"


def test_the_report_says_what_was_not_mapped() -> None:
    report = read_initialization(sample(STP)).report
    unmapped = {u.path: u for u in report.unmapped}
    assert unmapped["MilitaryOrganization/EntityType/DISEntityType"].count == 7
    status = unmapped[
        "MilitaryOrganization/CurrentState/PhysicalState/EntityHealthStatus/"
        "OperationalStatus/OperationalStatusCode"
    ]
    assert status.count == 5 and status.examples == ("FullyOperational",)
    text = "\n".join(report.lines())
    assert "side 'Friendly' is not a nation code" in text and "--side 'Friendly=NATION'" in text
    assert "'Friendly' HO to 'Hostile'" in text
    assert "sides referenced but not defined: 00000000-0000-0003-0000-000000000000" in text
    assert "kind 'unit' and timezone Etc/UTC filled in" in text


def test_the_imported_scenario_is_a_valid_scenario_file() -> None:
    structure = read_initialization(sample(STP)).structure
    text = dump_structure(structure)
    assert validate_text(text, "stp.yaml") == []
    assert load_scenario_text(text, "stp.yaml") == structure


@pytest.mark.parametrize("version", list(VERSIONS))
def test_round_trip_import_export_validates_and_imports_the_same(version: str) -> None:
    first = read_initialization(sample(STP), sides={"Friendly": "USA", "Hostile": "OPF"})
    exported = export_c2sim(first.structure, c2sim_version=version)
    assert_valid(exported, version)
    again = read_initialization(exported)
    assert again.structure == first.structure
    assert again.report.unmapped == []


def test_cli_import_prints_the_report_and_writes_it_into_the_file(tmp_path: Path) -> None:
    source = material("samples", STP)
    out = tmp_path / "stp.yaml"
    result = CliRunner().invoke(
        app, ["scenario", "import", str(source), "--out", str(out), "--side", "Friendly=USA"]
    )
    assert result.exit_code == 0, result.output
    assert "read 7 units as C2SIM 1.0.0" in result.output
    assert "DISEntityType ×7" in result.output
    text = out.read_text(encoding="utf-8")
    assert text.startswith(f"# imported from {STP}\n# read 7 units")
    assert load_structure(out).org("a_1_15").nation == "USA"

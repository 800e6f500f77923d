"""Every shipped scenario exported for every target version validates against its XSD.

The schemas are the ones in ``../shared/interop/c2sim/schema`` (not shipped), compiled
by lxml (libxml2) with the network off; the tests skip when they are not there.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from allied_c2.alliance.c2sim import export_c2sim
from allied_c2.alliance.c2sim_xml import DEFAULT_VERSION, VERSIONS, schema_problems
from allied_c2.alliance.scenario import load_structure
from allied_c2.cli.main import app
from tests.alliance.c2sim_material import SCHEMAS, assert_valid, material, sample

SCENARIOS = sorted((Path(__file__).resolve().parents[2] / "scenarios").glob("*.yaml"))


@pytest.mark.parametrize("header", [True, False], ids=["Message", "MessageBody"])
@pytest.mark.parametrize("version", list(VERSIONS))
@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda p: p.stem)
def test_export_validates_against_the_target_schema(
    scenario: Path, version: str, header: bool
) -> None:
    structure = load_structure(scenario)
    assert_valid(export_c2sim(structure, c2sim_version=version, header=header), version)


def test_the_default_is_the_published_standard_and_the_others_differ() -> None:
    assert DEFAULT_VERSION == "1.0.0"
    document = export_c2sim(load_structure(SCENARIOS[0]))
    problems = {
        version: schema_problems(document, material("schema", name).read_bytes())
        for version, name in SCHEMAS.items()
    }
    assert problems["1.0.0"] == []
    # The drafts restructure units: one document cannot serve every version.
    assert problems["1.0.1"] and problems["cwix2025"] and problems["2.0.0-cwix2026"]


def test_the_real_samples_validate_where_sources_md_says() -> None:
    xsd = material("schema", SCHEMAS["1.0.0"]).read_bytes()
    for name in (
        "gmu-stp__v1.0.0__initialization__SimpleAttack100.xml",
        "gmu__v1.0.0__report__position.xml",
        "gmu__v1.0.0__report__observation.xml",
    ):
        assert schema_problems(sample(name), xsd) == [], name


def test_cli_export_writes_a_valid_message_and_its_companion(tmp_path: Path) -> None:
    xml = tmp_path / "orbat.xml"
    source = str(SCENARIOS[-1])
    args = ["scenario", "export", source, "--c2sim", str(xml), "--c2sim-version", "cwix2025"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert_valid(xml.read_bytes(), "cwix2025")
    companion = tmp_path / "orbat.allied-c2.yaml"
    assert load_structure(companion) == load_structure(SCENARIOS[-1])
    back = tmp_path / "back.yaml"
    imported = CliRunner().invoke(app, ["scenario", "import", str(xml), "--out", str(back)])
    assert imported.exit_code == 0 and f"companion: {companion}" in imported.output
    assert load_structure(back) == load_structure(SCENARIOS[-1])
    bad = CliRunner().invoke(app, [*args[:5], "--c2sim-version", "3"])
    assert bad.exit_code != 0
    alone = CliRunner().invoke(app, [*args, "--no-companion", "--c2sim", str(tmp_path / "a.xml")])
    assert alone.exit_code == 0 and not (tmp_path / "a.allied-c2.yaml").exists()

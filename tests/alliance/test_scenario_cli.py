"""`allied-c2 scenario …`: exit codes and output."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from allied_c2.alliance.scenario import load_structure
from allied_c2.cli.main import app

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
runner = CliRunner()


def test_validate_clean_files_exits_zero() -> None:
    result = runner.invoke(
        app, ["scenario", "validate", *map(str, sorted(SCENARIOS.glob("*.yaml")))]
    )
    assert result.exit_code == 0, result.output


def test_validate_broken_file_prints_every_problem_and_exits_one(tmp_path: Path) -> None:
    text = (SCENARIOS / "alliance-2024.yaml").read_text(encoding="utf-8")
    text = text.replace("timezone: Pacific/Honolulu,", "timezone: Pacific/Honolulou,", 1)
    text = text.replace("decider: mod,", "decider: mood,")
    broken = tmp_path / "broken.yaml"
    broken.write_text(text, encoding="utf-8")
    result = runner.invoke(app, ["scenario", "validate", str(broken)])
    assert result.exit_code == 1
    lines = [line for line in result.stdout.splitlines() if line.startswith(str(broken))]
    assert len(lines) == 2
    tz_line = next(n for n, line in enumerate(text.splitlines(), 1) if "Honolulou" in line)
    assert f"{broken}:{tz_line}: unknown time zone 'Pacific/Honolulou' (fix: " in result.stdout
    assert "decider 'mood' is not a defined organisation (fix: " in result.stdout


def test_show_draws_tree_with_relations_counterparts_and_authorities() -> None:
    result = runner.invoke(
        app,
        ["scenario", "show", str(SCENARIOS / "alliance-jfhq.yaml"), "--set", "delegation=full"],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    assert "jjoc JSDF Joint Operations Command" in result.stdout
    assert "⇄ counterpart usfj (USA)" in result.stdout
    assert "TACON → c7f" in result.stdout
    assert "USA: usfj; delegated from indopacom; consults jjoc" in result.stdout
    sub = runner.invoke(
        app,
        ["scenario", "show", str(SCENARIOS / "alliance-2024.yaml"), "--org", "iiimef"],
        env={"COLUMNS": "200"},
    )
    assert sub.exit_code == 0 and "3mardiv" in sub.stdout and "indopacom US" not in sub.stdout


def test_show_rejects_unknown_org_and_bad_parameter() -> None:
    path = str(SCENARIOS / "alliance-jfhq.yaml")
    assert runner.invoke(app, ["scenario", "show", path, "--org", "nobody"]).exit_code == 1
    bad = runner.invoke(app, ["scenario", "show", path, "--set", "delegation=most"])
    assert bad.exit_code == 1
    assert "has no choice 'most'" in bad.output


def test_schema_prints_the_published_schema() -> None:
    result = runner.invoke(app, ["scenario", "schema"])
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert "organisations" in schema["required"]


def test_export_then_import_writes_an_equal_scenario(tmp_path: Path) -> None:
    source = SCENARIOS / "trilateral-hadr.yaml"
    xml, back = tmp_path / "orbat.xml", tmp_path / "back.yaml"
    exported = runner.invoke(
        app, ["scenario", "export", str(source), "--c2sim", str(xml), "--set", "delegation=none"]
    )
    assert exported.exit_code == 0, exported.output
    imported = runner.invoke(app, ["scenario", "import", str(xml), "--out", str(back)])
    assert imported.exit_code == 0, imported.output
    assert load_structure(back) == load_structure(source, {"delegation": "none"})


def test_import_of_garbage_exits_one(tmp_path: Path) -> None:
    bad = tmp_path / "bad.xml"
    bad.write_bytes(b"<not-closed>")
    result = runner.invoke(app, ["scenario", "import", str(bad), "--out", str(tmp_path / "x.yaml")])
    assert result.exit_code == 1
    assert not (tmp_path / "x.yaml").exists()

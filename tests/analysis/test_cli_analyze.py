from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from allied_c2.cli.analyze import app, parse_sets

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
A, B = SCENARIOS / "alliance-2024.yaml", SCENARIOS / "alliance-jfhq.yaml"
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def workload(tmp_path: Path) -> Path:
    path = tmp_path / "short.yaml"
    path.write_text(
        """
name: short
start: "2025-11-03T00:00:00Z"
days: 5
transmission_hours: {median: 0.2, sigma: 0.5}
processing_hours:
  review: {median: 2, sigma: 0.5}
  decide: {median: 4, sigma: 0.5}
  concur: {median: 3, sigma: 0.5}
kinds:
  bilateral_exercise_change:
    per_day: 8
    needed_by_hours: 72
    originators: {nations: [JPN]}
  logistics_support:
    per_day: 4
    originators: {nations: [JPN, USA]}
""",
        encoding="utf-8",
    )
    return path


def _run(args: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(app, args)
    # Rich wraps error boxes at the terminal width: compare the words, not the layout.
    return result.exit_code, " ".join(result.output.replace("│", " ").split())


def test_compare_writes_plots_report_and_summary(tmp_path: Path, workload: Path) -> None:
    if not (A.exists() and B.exists()):
        pytest.skip("shipped scenarios not present")
    out = tmp_path / "out"
    args = ["compare", str(A), str(B), "--workload", str(workload), "--runs", "2"]
    args += ["--seed", "4", "--out", str(out), "--set", "alliance-jfhq:delegation=full"]
    code, output = _run(args)
    assert code == 0, output
    summary = json.loads((out / "summary.json").read_text())
    name = "alliance-jfhq[delegation=full]"
    assert set(summary) == {"alliance-2024", name, "_metadata"}
    stats = summary[name]["bilateral_exercise_change"]
    assert {"count", "p50_hours", "p90_hours", "p99_hours", "share_by_needed_by"} <= set(stats)
    assert summary["_metadata"]["seed"] == 4 and summary["_metadata"]["runs"] == 2
    pngs = sorted(out.glob("*.png"))
    assert len(pngs) == 3 and all(p.read_bytes().startswith(PNG) for p in pngs)
    report = (out / "report.md").read_text()
    assert all(f"]({p.name})" in report for p in pngs)
    assert "## Critical path of a sample request" in report and "★" in report
    assert "bilateral_exercise_change" in report
    # Same seed, same summary.json, byte for byte.
    again = tmp_path / "again"
    code, output = _run([*args[:-4], "--out", str(again), *args[-2:]])
    assert code == 0, output
    assert (again / "summary.json").read_bytes() == (out / "summary.json").read_bytes()


def test_set_targets_the_files_that_declare_the_parameter() -> None:
    if not (A.exists() and B.exists()):
        pytest.skip("shipped scenarios not present")
    assert parse_sets(["delegation=none"], [A, B]) == [{}, {"delegation": "none"}]
    assert parse_sets(["alliance-jfhq:jfhq_commander_grade=O-10"], [A, B]) == [
        {},
        {"jfhq_commander_grade": "O-10"},
    ]
    assert parse_sets(["3:delegation=full", "delegation=none"], [A, B, B]) == [
        {},
        {"delegation": "none"},
        {"delegation": "none"},
    ]
    assert parse_sets(["delegation=none", "3:delegation=full"], [A, B, B])[2] == {
        "delegation": "full"
    }


def test_bad_arguments_are_reported(tmp_path: Path) -> None:
    if not (A.exists() and B.exists()):
        pytest.skip("shipped scenarios not present")
    code, output = _run(["compare", str(A), str(B), "--set", "nonsense=1"])
    assert code != 0 and "no structure declares parameter 'nonsense'" in output
    code, output = _run(["compare", str(A), str(B), "--set", "delegation=sometimes"])
    assert code == 2 and "no choice 'sometimes'" in output
    code, output = _run(["compare", str(A)])
    assert code != 0 and "at least two scenario files" in output
    bad = tmp_path / "bad.yaml"
    bad.write_text("kinds: {}\n")
    code, output = _run(["compare", str(A), str(B), "--workload", str(bad)])
    assert code == 2 and "kinds: give at least one request kind" in output

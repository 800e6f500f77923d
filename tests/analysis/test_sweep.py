"""`analyze sweep`: the grid, staffing, all cores giving one process's numbers."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from allied_c2.alliance.model import DutyHours, Structure
from allied_c2.analysis.compare import AnalysisError, compare, percentile
from allied_c2.analysis.sweep import build_cells, grid, run_sweep, with_staffing
from allied_c2.analysis.sweep_report import SWEEP_CSV, SWEEP_PNG
from allied_c2.analysis.workload import load_workload
from allied_c2.cli.analyze import app

from .digests import SCENARIOS, shipped

JFHQ = SCENARIOS / "alliance-jfhq.yaml"
PNG = b"\x89PNG\r\n\x1a\n"


def _short(days: float = 3):  # type: ignore[no-untyped-def]
    return replace(load_workload(), days=days)


def _jfhq(values: dict[str, str]) -> Structure:
    return shipped("alliance-jfhq", **values)


def test_the_grid_is_every_combination_last_axis_fastest() -> None:
    cells = grid({"a": ["1", "2"], "b": ["x", "y", "z"]})
    assert [c.label for c in cells[:3]] == ["a=1, b=x", "a=1, b=y", "a=1, b=z"]
    assert len(cells) == 6 and cells[-1].get("a") == "2"


def test_staffing_sets_the_jfhq_duty_hours_only() -> None:
    base = _jfhq({})
    watch = with_staffing(base, "watch", ["usfj"])
    assert watch.org("usfj").duty_hours == DutyHours(always=True)
    assert base.org("usfj").duty_hours == DutyHours()  # the original is untouched
    assert watch.org("jjoc") == base.org("jjoc")
    assert with_staffing(base, "office", ["usfj"]) is base
    with pytest.raises(AnalysisError, match="unknown staffing"):
        with_staffing(base, "skeleton", ["usfj"])


def test_all_cores_give_the_numbers_of_one_process() -> None:
    axes = {"delegation": ["none", "full"], "staffing": ["office", "watch"]}
    cells = build_cells(_jfhq, axes)
    one = run_sweep(cells, _short(), seeds=3, seed=2, jobs=1)
    two = run_sweep(cells, _short(), seeds=3, seed=2, jobs=2)
    assert one.results == two.results
    # sharing outcomes between cells that route a request alike changes nothing
    alone = run_sweep(cells, _short(), seeds=3, seed=2, jobs=1, reuse=False)
    assert alone.results == one.results
    assert [r.cell.label for r in one.results][:2] == [
        "delegation=none, staffing=office",
        "delegation=none, staffing=watch",
    ]
    by = {r.cell.label: r for r in one.results}
    # a JFHQ manned around the clock decides delegated requests sooner
    office, watch = by["delegation=full, staffing=office"], by["delegation=full, staffing=watch"]
    assert watch.p50_hours is not None and office.p50_hours is not None
    assert watch.p50_hours < office.p50_hours
    assert all(r.requests == one.results[0].requests for r in one.results)  # same arrivals


def test_a_one_cell_sweep_is_compare_with_its_runs() -> None:
    """A cell's periods are compare()'s runs: the same arrivals, the same model."""
    structure = _jfhq({"delegation": "partial"})
    cells = build_cells(lambda values: structure, {"staffing": ["office"]})
    swept = run_sweep(cells, _short(), seeds=3, seed=5, jobs=1).results[0]
    compared = compare({"s": structure}, _short(), runs=3, seed=5).structures["s"]
    hours = sorted(h for kind in compared.hours.values() for h in kind)
    assert swept.requests == len(hours)
    assert swept.p50_hours == round(percentile(hours, 50), 3)


def test_cli_sweep_writes_the_table_csv_and_heat_map(tmp_path: Path) -> None:
    workload = tmp_path / "short.yaml"
    workload.write_text(
        """
name: short
start: "2025-11-03T00:00:00Z"
days: 3
kinds:
  bilateral_exercise_change: {per_day: 8, originators: {nations: [JPN]}}
  isr_support: {per_day: 6, originators: {nations: [JPN, USA]}}
""",
        encoding="utf-8",
    )
    args = ["sweep", str(JFHQ), "--grade", "O-9", "--delegation", "none,full"]
    args += ["--staffing", "office", "--staffing", "watch", "--seeds", "2"]
    args += ["--workload", str(workload)]
    runner = CliRunner()
    two = runner.invoke(app, [*args, "--jobs", "2", "--out", str(tmp_path / "two")])
    assert two.exit_code == 0, two.output
    assert "hours to decision" in two.output and "watch" in two.output
    rows = (tmp_path / "two" / SWEEP_CSV).read_text().splitlines()
    assert rows[0].startswith("jfhq_commander_grade,delegation,staffing,requests,p50_hours")
    assert len(rows) == 1 + 4
    assert (tmp_path / "two" / SWEEP_PNG).read_bytes().startswith(PNG)
    one = runner.invoke(app, [*args, "--jobs", "1", "--out", str(tmp_path / "one")])
    assert one.exit_code == 0, one.output
    assert (tmp_path / "one" / SWEEP_CSV).read_text().splitlines() == rows


def test_cli_sweep_reports_bad_axes() -> None:
    runner = CliRunner()
    bad = runner.invoke(app, ["sweep", str(JFHQ), "--staffing", "skeleton"])
    assert bad.exit_code != 0 and "skeleton" in bad.output
    bad = runner.invoke(app, ["sweep", str(JFHQ), "--delegation", "sometimes", "--seeds", "1"])
    assert bad.exit_code == 2 and "no choice 'sometimes'" in " ".join(bad.output.split())
    bad = runner.invoke(app, ["sweep", str(SCENARIOS / "alliance-2024.yaml"), "--grade", "O-9"])
    assert bad.exit_code != 0 and "declares no parameter" in " ".join(bad.output.split())

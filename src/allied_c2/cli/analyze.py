"""`allied-c2 analyze` commands: what-if comparison of command structures, and
parameter sweeps of one structure over a grid of variants and seeds."""

from __future__ import annotations

import os
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Annotated

import typer
import yaml
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from allied_c2.alliance.model import Structure
from allied_c2.alliance.scenario import ScenarioError, load_structure
from allied_c2.analysis.compare import AnalysisError, Comparison, compare
from allied_c2.analysis.report import write_outputs
from allied_c2.analysis.sweep import STAFFING, STAFFING_AXIS, Sweep, build_cells, run_sweep
from allied_c2.analysis.sweep_report import SWEEP_CSV, SWEEP_PNG, write_csv, write_heatmap
from allied_c2.analysis.workload import WorkloadError, load_workload

app = typer.Typer(help="What-if analysis of command structures.", no_args_is_help=True)
console = Console(stderr=True)


@app.callback()
def analyze() -> None:
    """What-if analysis of command structures (a group, so ``compare`` keeps its name)."""


def parse_sets(sets: list[str], files: list[Path]) -> list[dict[str, object]]:
    """Per-file overrides from ``--set [STEM:]KEY=VALUE``.

    A bare KEY applies to every file that declares the parameter (one of them must);
    ``STEM:KEY`` only to files named STEM (without .yaml); ``N:KEY`` only to the N-th
    file (1-based), so one file can be compared with itself under other parameters.
    """
    declared = [_declared_parameters(f) for f in files]
    out: list[dict[str, object]] = [{} for _ in files]
    for item in sets:
        target, sep, assignment = item.partition(":")
        if not sep or "=" in target:
            target, assignment = "", item
        key, eq, value = assignment.partition("=")
        key = key.strip()
        if not eq or not key:
            raise typer.BadParameter(f"--set {item!r}: expected KEY=VALUE or FILE:KEY=VALUE")
        if target.isdigit():  # 1-based position: tells apart the same file given twice
            chosen = [int(target) - 1] if 1 <= int(target) <= len(files) else []
        else:
            chosen = [i for i, f in enumerate(files) if not target or f.stem == target]
        if target and not chosen:
            stems = ", ".join(f.stem for f in files)
            raise typer.BadParameter(f"--set {item!r}: no structure file {target!r} ({stems})")
        applied = [i for i in chosen if key in declared[i] or target]
        if not applied:
            raise typer.BadParameter(
                f"--set {item!r}: no structure declares parameter {key!r} "
                f"(declared: {', '.join(sorted(set().union(*declared))) or 'none'})"
            )
        for i in applied:
            out[i][key] = value.strip()
    return out


def _declared_parameters(path: Path) -> set[str]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return set()  # load_structure reports the problem with file and line
    params = data.get("parameters") if isinstance(data, dict) else None
    return set(params) if isinstance(params, dict) else set()


def structure_names(files: list[Path], overrides: list[dict[str, object]]) -> list[str]:
    names: list[str] = []
    for path, values in zip(files, overrides, strict=True):
        name = path.stem
        if values:
            name += "[" + ",".join(f"{k}={v}" for k, v in sorted(values.items())) + "]"
        base, n = name, 2
        while name in names:
            name, n = f"{base}#{n}", n + 1
        names.append(name)
    return names


@app.command("compare")
def compare_command(
    structures: Annotated[
        list[Path], typer.Argument(help="Scenario files to compare (two or more)", exists=True)
    ],
    workload: Annotated[
        Path | None,
        typer.Option(
            "--workload", help="Workload YAML (default: the shipped workload)", exists=True
        ),
    ] = None,
    runs: Annotated[int, typer.Option("--runs", min=1, help="Independent simulated periods")] = 10,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same numbers)")] = 1,
    out: Annotated[Path, typer.Option("--out", help="Output directory")] = Path("var/analysis"),
    sets: Annotated[
        list[str] | None,
        typer.Option("--set", help="Scenario parameter [FILE-STEM:|N:]KEY=VALUE (repeatable)"),
    ] = None,
) -> None:
    """Simulate the same workload through each structure and report decision times."""
    if len(structures) < 2:
        raise typer.BadParameter(
            "give at least two scenario files (the same file twice with "
            "different --set FILE:KEY=VALUE is fine)"
        )
    overrides = parse_sets(sets or [], structures)
    names = structure_names(structures, overrides)
    loaded: dict[str, Structure] = {}
    try:
        for name, path, values in zip(names, structures, overrides, strict=True):
            loaded[name] = load_structure(path, values or None)
        load = load_workload(workload)
    except (ScenarioError, WorkloadError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    with Progress(
        TextColumn("simulating"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task("runs", total=runs * len(loaded))
        try:
            result = compare(
                loaded, load, runs=runs, seed=seed, progress=lambda n: progress.advance(task, n)
            )
        except AnalysisError as exc:
            console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from exc
    paths = write_outputs(result, out, [str(p) for p in structures])
    _print_summary(result)
    console.print(
        f"{result.requests} requests simulated ({result.requests_per_second:,.0f}/s); "
        f"wrote {', '.join(str(p) for p in paths)}"
    )


def _print_summary(result: Comparison) -> None:
    table = Table(title="hours to decision (p50 / p90)")
    table.add_column("request kind")
    for name in result.structures:
        table.add_column(name)
    for load in result.workload.kinds:
        cells = []
        for r in result.structures.values():
            s = r.kinds.get(load.kind)
            cells.append(f"{s.p50_hours:.1f} / {s.p90_hours:.1f}" if s and s.p50_hours else "–")
        table.add_row(load.kind, *cells)
    Console().print(table)


# The sweep's axes: option -> the scenario parameter it sets (staffing is applied to
# the staffed organisations' duty hours, see analysis/sweep.py).
SWEEP_PARAMETERS = {"grade": "jfhq_commander_grade", "delegation": "delegation"}
_PLOT_LABELS = {
    "jfhq_commander_grade": "JFHQ commander's grade",
    "delegation": "authority delegated to the JFHQ",
    STAFFING_AXIS: "JFHQ staffing (duty hours)",
}
_TABLE_LABELS = {"jfhq_commander_grade": "grade"}
_JFHQ = "alliance-jfhq.yaml"


def _values(raw: list[str] | None) -> list[str]:
    """``--x a,b --x c`` -> [a, b, c] (order kept, duplicates dropped)."""
    out: list[str] = []
    for item in raw or []:
        out.extend(v.strip() for v in item.split(",") if v.strip() and v.strip() not in out)
    return out


def _default_scenario() -> Path:
    return Path(str(resources.files("allied_c2") / "scenarios" / _JFHQ))


@app.command("sweep")
def sweep_command(
    scenario: Annotated[
        Path | None,
        typer.Argument(help=f"Scenario file (default: the shipped {_JFHQ})", exists=True),
    ] = None,
    grade: Annotated[
        list[str] | None,
        typer.Option(
            "--grade", help="JFHQ commander's grades, e.g. O-9,O-10 (default: every choice)"
        ),
    ] = None,
    delegation: Annotated[
        list[str] | None,
        typer.Option(
            "--delegation", help="Delegated authority: none,partial,full (default: every choice)"
        ),
    ] = None,
    staffing: Annotated[
        list[str] | None,
        typer.Option(
            "--staffing",
            help=f"JFHQ staffing: {','.join(STAFFING)} (duty hours; default: all three)",
        ),
    ] = None,
    staffed: Annotated[
        list[str] | None,
        typer.Option("--staffed", help="Organisation ids to staff (default: the joint force HQs)"),
    ] = None,
    seeds: Annotated[int, typer.Option("--seeds", min=1, help="Simulated periods per cell")] = 20,
    seed: Annotated[int, typer.Option("--seed", help="Base random seed")] = 1,
    kind: Annotated[
        str | None, typer.Option("--kind", help="Only this request kind (default: all)")
    ] = None,
    workload: Annotated[
        Path | None,
        typer.Option(
            "--workload", help="Workload YAML (default: the shipped workload)", exists=True
        ),
    ] = None,
    jobs: Annotated[
        int | None, typer.Option("--jobs", min=1, help="Processes (default: every core)")
    ] = None,
    out: Annotated[Path, typer.Option("--out", help="Output directory")] = Path("var/sweep"),
) -> None:
    """Simulate a grid of grade x delegation x staffing, many seeds each, on every core;
    write sweep.csv and a heat map of the median time to decision (sweep.png)."""
    path = scenario or _default_scenario()
    declared = _declared_parameters(path)
    axes: dict[str, list[str]] = {}
    for option, raw in (("grade", grade), ("delegation", delegation)):
        name = SWEEP_PARAMETERS[option]
        values = _values(raw)
        if values and name not in declared:
            raise typer.BadParameter(f"--{option}: {path.name} declares no parameter {name!r}")
        if name in declared:
            axes[name] = values or _choices(path, name)
    levels = _values(staffing) or list(STAFFING)
    unknown = [v for v in levels if v not in STAFFING]
    if unknown:
        raise typer.BadParameter(f"--staffing {unknown[0]!r}: choose from {', '.join(STAFFING)}")
    axes[STAFFING_AXIS] = levels
    jobs = jobs or os.cpu_count() or 1
    try:
        load = load_workload(workload)

        def variant(values: Mapping[str, str]) -> Structure:
            return load_structure(path, dict(values) or None)

        cells = build_cells(variant, axes, staffed or None)
        total = len(cells) * seeds
        with Progress(
            TextColumn("sweeping"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("cell-periods"),
            TimeElapsedColumn(),
            console=console,
        ) as progress:
            task = progress.add_task("sweep", total=total)
            result = run_sweep(
                cells,
                load,
                seeds=seeds,
                seed=seed,
                kind=kind,
                jobs=jobs,
                progress=lambda n: progress.advance(task, n),
            )
    except (ScenarioError, WorkloadError, AnalysisError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    csv_path = write_csv(result, out / SWEEP_CSV)
    png_path = write_heatmap(result, out / SWEEP_PNG, _PLOT_LABELS)
    _print_sweep(result, path.stem)
    console.print(
        f"{len(cells)} cells x {seeds} seeds: {result.requests:,} requests in "
        f"{result.elapsed_seconds:.1f} s ({result.requests_per_second:,.0f}/s on "
        f"{min(jobs, total)} processes); wrote {csv_path}, {png_path}"
    )


def _choices(path: Path, name: str) -> list[str]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    spec = data["parameters"][name]
    return [str(c) for c in spec.get("choices") or [spec["default"]]]


def _print_sweep(result: Sweep, name: str) -> None:
    kind = result.kind or "all kinds"
    table = Table(title=f"{name}: hours to decision ({kind}, {result.seeds} seeds per cell)")
    for axis in result.axes:
        table.add_column(_TABLE_LABELS.get(axis, axis))
    for column in ("requests", "p50", "p50 per seed", "p90", "by needed-by", "escalations"):
        table.add_column(column, justify="right")
    for r in result.results:
        if r.p50_hours is None:
            table.add_row(*(v for _, v in r.cell.values), "0", "–", "–", "–", "–", "–")
            continue
        table.add_row(
            *(v for _, v in r.cell.values),
            f"{r.requests:,}",
            f"{r.p50_hours:.1f}",
            f"{r.p50_seed_min:.1f}–{r.p50_seed_max:.1f}",
            f"{r.p90_hours:.1f}",
            f"{100 * (r.share_by_needed_by or 0):.0f}%",
            f"{r.escalations_per_request:.2f}",
        )
    out = Console()
    if not out.is_terminal and out.width < 120:  # piped: rich would squeeze it to 80
        out = Console(width=120)
    out.print(table)

"""`allied-c2 analyze` commands: what-if comparison of command structures."""

from __future__ import annotations

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

"""`allied-c2 scenario` commands: validate, show, schema, export, import."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from allied_c2.alliance.c2sim import (
    C2SIMError,
    export_c2sim,
    import_c2sim,
    import_msdl,
    local,
    parse_xml,
)
from allied_c2.alliance.model import Structure
from allied_c2.alliance.scenario import ScenarioError, dump_structure, load_structure
from allied_c2.alliance.tree import render
from allied_c2.alliance.validation import scenario_schema, validate

app = typer.Typer(help="Command structures as data: scenario files.", no_args_is_help=True)

SetOption = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a scenario parameter, e.g. --set delegation=full"),
]


def _overrides(pairs: list[str] | None) -> dict[str, object]:
    out: dict[str, object] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"expected KEY=VALUE, got '{pair}'", param_hint="--set")
        out[key.strip()] = value.strip()
    return out


def _load(file: Path, pairs: list[str] | None) -> Structure:
    try:
        return load_structure(file, _overrides(pairs))
    except ScenarioError as exc:
        for problem in exc.problems:
            typer.echo(str(problem), err=True)
        raise typer.Exit(1) from exc


@app.command("validate")
def validate_cmd(files: Annotated[list[Path], typer.Argument(help="Scenario YAML files")]) -> None:
    """Report every problem as file:line: message (fix: ...); exit 1 if there is any."""
    total = 0
    for file in files:
        problems = validate(file)
        total += len(problems)
        for problem in problems:
            typer.echo(str(problem))
        if not problems:
            typer.echo(f"{file}: ok", err=True)
    raise typer.Exit(1 if total else 0)


@app.command("show")
def show_cmd(
    file: Path,
    org: Annotated[
        str | None, typer.Option("--org", help="Show only this organisation's subtree")
    ] = None,
    set_: SetOption = None,
) -> None:
    """Draw the command structure, counterparts and decision authorities."""
    structure = _load(file, set_)
    if org is not None and org not in structure.organisations:
        typer.echo(f"unknown organisation '{org}'", err=True)
        raise typer.Exit(1)
    Console().print(render(structure, org))


@app.command("schema")
def schema_cmd() -> None:
    """Print the scenario JSON Schema (Draft 2020-12)."""
    typer.echo(json.dumps(scenario_schema(), indent=2, ensure_ascii=False))


@app.command("export")
def export_cmd(
    file: Path,
    c2sim: Annotated[Path, typer.Option("--c2sim", help="Write a C2SIM Initialization XML here")],
    set_: SetOption = None,
    no_extension: Annotated[
        bool, typer.Option("--no-extension", help="Plain C2SIM only (drops what C2SIM cannot hold)")
    ] = False,
) -> None:
    """Export a scenario as C2SIM Initialization XML."""
    structure = _load(file, set_)
    c2sim.write_bytes(export_c2sim(structure, extension=not no_extension))
    typer.echo(f"wrote {c2sim} ({len(structure.organisations)} units)", err=True)


@app.command("import")
def import_cmd(
    source: Path,
    out: Annotated[Path, typer.Option("--out", help="Scenario YAML to write")],
) -> None:
    """Import C2SIM Initialization or MSDL XML and write a scenario YAML."""
    try:
        data = source.read_bytes()
        root = parse_xml(data)
        structure = import_msdl(data) if local(root) == "MilitaryScenario" else import_c2sim(data)
    except (OSError, C2SIMError) as exc:
        typer.echo(f"{source}: {exc}", err=True)
        raise typer.Exit(1) from exc
    out.write_text(dump_structure(structure), encoding="utf-8")
    typer.echo(f"wrote {out} ({len(structure.organisations)} organisations)", err=True)

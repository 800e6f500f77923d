"""`allied-c2 scenario` commands: validate, show, schema, export, import."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from allied_c2.alliance.c2sim import export_c2sim
from allied_c2.alliance.c2sim_companion import companion_path, companion_text
from allied_c2.alliance.c2sim_import import read_initialization
from allied_c2.alliance.c2sim_xml import DEFAULT_VERSION, VERSIONS, C2SIMError, local, parse_xml
from allied_c2.alliance.model import Structure
from allied_c2.alliance.msdl import import_msdl
from allied_c2.alliance.scenario import ScenarioError, dump_structure, load_structure
from allied_c2.alliance.tree import render
from allied_c2.alliance.validation import scenario_schema, validate

app = typer.Typer(help="Command structures as data: scenario files.", no_args_is_help=True)

SetOption = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a scenario parameter, e.g. --set delegation=full"),
]


def _pairs(values: list[str] | None, option: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in values or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"expected KEY=VALUE, got '{pair}'", param_hint=option)
        out[key.strip()] = value.strip()
    return out


def _overrides(pairs: list[str] | None) -> dict[str, object]:
    return dict(_pairs(pairs, "--set"))


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


VersionOption = Annotated[
    str,
    typer.Option("--c2sim-version", help=f"C2SIM schema to target: {', '.join(VERSIONS)}"),
]


@app.command("export")
def export_cmd(
    file: Path,
    c2sim: Annotated[Path, typer.Option("--c2sim", help="Write a C2SIM Initialization XML here")],
    set_: SetOption = None,
    c2sim_version: VersionOption = DEFAULT_VERSION,
    no_header: Annotated[
        bool,
        typer.Option(
            "--no-header", help="Root MessageBody (the GMU server's form): no C2SIMHeader"
        ),
    ] = False,
    no_companion: Annotated[
        bool,
        typer.Option(
            "--no-companion",
            help="Do not write NAME.allied-c2.yaml (what C2SIM cannot hold) beside it",
        ),
    ] = False,
) -> None:
    """Export a scenario as C2SIM Initialization XML, valid against the chosen schema."""
    if c2sim_version not in VERSIONS:
        raise typer.BadParameter(f"one of {', '.join(VERSIONS)}", param_hint="--c2sim-version")
    structure = _load(file, set_)
    c2sim.write_bytes(export_c2sim(structure, c2sim_version=c2sim_version, header=not no_header))
    typer.echo(
        f"wrote {c2sim} (C2SIM {c2sim_version}, {len(structure.organisations)} units)", err=True
    )
    if not no_companion:
        companion = companion_path(c2sim)
        companion.write_text(companion_text(structure, c2sim.name, c2sim_version), encoding="utf-8")
        typer.echo(f"wrote {companion} (what C2SIM cannot hold)", err=True)


@app.command("import")
def import_cmd(
    source: Path,
    out: Annotated[Path, typer.Option("--out", help="Scenario YAML to write")],
    companion: Annotated[
        Path | None,
        typer.Option("--companion", help="Companion scenario. Default: NAME.allied-c2.yaml beside"),
    ] = None,
    no_companion: Annotated[
        bool, typer.Option("--no-companion", help="Read the C2SIM message alone")
    ] = False,
    side: Annotated[
        list[str] | None,
        typer.Option("--side", help="Nation of a ForceSide, e.g. --side Friendly=USA"),
    ] = None,
    name: Annotated[str | None, typer.Option("--name", help="Scenario name")] = None,
) -> None:
    """Import C2SIM Initialization or MSDL XML into a scenario; report what was not mapped."""
    sides = _pairs(side, "--side")
    lines: list[str] = []
    try:
        data = source.read_bytes()
        if local(parse_xml(data)) == "MilitaryScenario":
            structure = import_msdl(data)
        else:
            extra = companion or companion_path(source)
            use = not no_companion and (companion is not None or extra.exists())
            imported = read_initialization(
                data, sides=sides, name=name, companion=_load(extra, None) if use else None
            )
            structure = imported.structure
            lines = ([f"companion: {extra}"] if use else []) + imported.report.lines()
    except (OSError, C2SIMError) as exc:
        typer.echo(f"{source}: {exc}", err=True)
        raise typer.Exit(1) from exc
    for line in lines:
        typer.echo(line, err=True)
    header = "".join(f"# {line}\n" for line in [f"imported from {source.name}", *lines])
    out.write_text(header + dump_structure(structure), encoding="utf-8")
    typer.echo(f"wrote {out} ({len(structure.organisations)} organisations)", err=True)

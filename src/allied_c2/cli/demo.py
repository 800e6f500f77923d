"""`allied-c2 demo`: the whole system on synthetic data, from a fresh data directory."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from allied_c2.cli.server import EndpointOpt, build_config

DEFAULT_DATA_DIR = Path("var/demo")
FEDERATED_DATA_DIR = Path("var/demo-federated")


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)


def demo(
    data_dir: Annotated[
        Path,
        typer.Option(
            "--data-dir",
            help="Demo data directory; wiped on start if a previous demo made it",
        ),
    ] = DEFAULT_DATA_DIR,
    cot_tcp: EndpointOpt = None,
    cot_tls: EndpointOpt = None,
    http: EndpointOpt = None,
    enroll: Annotated[
        str,
        typer.Option(help="Certificate enrollment HTTPS listener (TAK's 8446), 'off' for none"),
    ] = "127.0.0.1:8446",
    speed: Annotated[
        float, typer.Option("--speed", min=0.001, help="Simulated seconds per real second")
    ] = 30.0,
    seconds: Annotated[
        float | None, typer.Option("--seconds", min=0.1, help="Stop by itself after N seconds")
    ] = None,
    scenario: Annotated[
        Path | None,
        typer.Option(help="Scenario YAML (default: the shipped trilateral-hadr)", exists=True),
    ] = None,
    log_level: Annotated[str | None, typer.Option(help="DEBUG, INFO, WARNING")] = None,
    federated: Annotated[
        bool,
        typer.Option(
            "--federated",
            help="Three national servers (USA, JPN, PHL) federated with each other, on free "
            "loopback ports (the listener options are ignored); default dir var/demo-federated",
        ),
    ] = False,
) -> None:
    """Run a server with demo users, a scenario and simulated ships, aircraft and units.

    Prints the web URL, each demo user's token and how to connect a TAK client.
    Ctrl+C stops it.
    """
    from allied_c2.alliance.scenario import ScenarioError
    from allied_c2.demo.datadir import DataDirError
    from allied_c2.demo.principals import ProvisionError
    from allied_c2.demo.runner import DemoOptions, default_scenario, run_demo

    try:
        chosen = scenario or default_scenario()
    except FileNotFoundError as exc:
        raise typer.BadParameter(str(exc), param_hint="--scenario") from exc
    config = build_config(
        data_dir, None, None, cot_tcp, cot_tls, None, http, None, chosen, log_level, enroll=enroll
    )
    try:
        if federated:
            from allied_c2.demo.federated import run_federated

            if data_dir == DEFAULT_DATA_DIR:
                config = replace(config, data_dir=FEDERATED_DATA_DIR)
            run_federated(config, speed, seconds)
            return
        run_demo(DemoOptions(config=config, speed=speed, seconds=seconds))
    except (DataDirError, ProvisionError, ScenarioError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc

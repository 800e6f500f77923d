"""`allied-c2 serve`, `demo` and `watch`."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from pathlib import Path
from typing import Annotated

import typer

from allied_c2.cli.common import ConfigOption, DatabaseUrlOption, DataDirOption, resolve_config
from allied_c2.config import Config, ConfigError, Endpoint
from allied_c2.logs import setup_logging

EndpointOpt = Annotated[str | None, typer.Option(help="HOST:PORT, port 0 = any free port, 'off'")]


def _endpoint(value: str | None) -> Endpoint | bool | None:
    """False means 'not given' (keep the config's value)."""
    if value is None:
        return False
    try:
        return Endpoint.parse(value)
    except ConfigError as exc:
        raise typer.BadParameter(str(exc)) from exc


def build_config(
    data_dir: Path | None,
    database_url: str | None,
    config_file: Path | None,
    cot_tcp: str | None,
    cot_tls: str | None,
    cot_udp: str | None,
    http: str | None,
    https: str | None,
    scenario: Path | None,
    log_level: str | None,
    security_policy: Path | None = None,
    metrics: str | None = None,
    federation: str | None = None,
    federation_nation: str | None = None,
    enroll: str | None = None,
) -> Config:
    config = resolve_config(
        data_dir,
        database_url,
        config_file,
        scenario=scenario,
        log_level=log_level,
        security_policy=security_policy,
    )
    overrides: dict[str, Endpoint | None] = {}
    for name, value in (
        ("cot_tcp", cot_tcp),
        ("cot_tls", cot_tls),
        ("cot_udp", cot_udp),
        ("http", http),
        ("https", https),
        ("metrics", metrics),
        ("federation", federation),
        ("enroll", enroll),
    ):
        parsed = _endpoint(value)
        if parsed is not False:
            overrides[name] = parsed  # type: ignore[assignment]
    from dataclasses import replace

    if federation_nation is not None:
        overrides["federation_nation"] = federation_nation.strip().upper()  # type: ignore[assignment]
    try:
        return replace(config, **overrides)  # type: ignore[arg-type]
    except ConfigError as exc:  # e.g. a metrics listener off loopback
        raise typer.BadParameter(str(exc)) from exc


def run_server(config: Config) -> None:
    """Run until SIGINT/SIGTERM; used by `serve` and `demo`."""
    setup_logging(config.log_level, config.log_json)
    import uvloop

    uvloop.run(_serve(config))


async def _serve(config: Config) -> None:
    from allied_c2.app import build_runtime, run_runtime

    try:
        runtime = build_runtime(config)
    except ConfigError as exc:  # e.g. a privileged [anonymous] profile: refuse to start
        typer.echo(f"error: configuration: {exc}", err=True)
        raise typer.Exit(2) from None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await run_runtime(runtime, stop)


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        data_dir: DataDirOption = None,
        cot_tcp: EndpointOpt = None,
        cot_tls: EndpointOpt = None,
        cot_udp: EndpointOpt = None,
        http: EndpointOpt = None,
        https: EndpointOpt = None,
        metrics: Annotated[
            str | None,
            typer.Option(
                help="Prometheus /metrics without credentials on HOST:PORT (loopback only). "
                "Default off; admins can scrape /metrics on --http/--https anyway"
            ),
        ] = None,
        config: ConfigOption = None,
        database_url: DatabaseUrlOption = None,
        scenario: Annotated[Path | None, typer.Option(help="Alliance scenario YAML")] = None,
        log_level: Annotated[str | None, typer.Option(help="DEBUG, INFO, WARNING")] = None,
        security_policy: Annotated[
            Path | None,
            typer.Option(help="TOML: level equivalence, tetragraphs, default marking", exists=True),
        ] = None,
        federation: Annotated[
            str | None,
            typer.Option(
                help="Listen for federated servers (TAK federation v2, gRPC over mutual TLS; "
                "TAK's port is 9001) on HOST:PORT. Default off"
            ),
        ] = None,
        federation_nation: Annotated[
            str | None,
            typer.Option(
                help="This server's nation as its federates register it (lets NOFORN and "
                "no-REL-TO items of that nation cross; docs/federation.md)"
            ),
        ] = None,
        enroll: Annotated[
            str | None,
            typer.Option(
                help="Certificate enrollment for TAK clients (HTTPS, Basic auth with a password "
                "or a `user invite` token; TAK's port is 8446) on HOST:PORT. Default off"
            ),
        ] = None,
    ) -> None:
        """Run the server: CoT over TCP/TLS (and UDP), the HTTP API and the web COP."""
        cfg = build_config(
            data_dir,
            database_url,
            config,
            cot_tcp,
            cot_tls,
            cot_udp,
            http,
            https,
            scenario,
            log_level,
            security_policy,
            metrics,
            federation,
            federation_nation,
            enroll,
        )
        run_server(cfg)

    from allied_c2.cli.watch import watch_command

    app.command("watch")(watch_command)

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
    ):
        parsed = _endpoint(value)
        if parsed is not False:
            overrides[name] = parsed  # type: ignore[assignment]
    from dataclasses import replace

    return replace(config, **overrides)  # type: ignore[arg-type]


def run_server(config: Config) -> None:
    """Run until SIGINT/SIGTERM; used by `serve` and `demo`."""
    setup_logging(config.log_level, config.log_json)
    import uvloop

    uvloop.run(_serve(config))


async def _serve(config: Config) -> None:
    from allied_c2.app import build_runtime, run_runtime

    runtime = build_runtime(config)
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
        config: ConfigOption = None,
        database_url: DatabaseUrlOption = None,
        scenario: Annotated[Path | None, typer.Option(help="Alliance scenario YAML")] = None,
        log_level: Annotated[str | None, typer.Option(help="DEBUG, INFO, WARNING")] = None,
        security_policy: Annotated[
            Path | None,
            typer.Option(help="TOML: level equivalence, tetragraphs, default marking", exists=True),
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
        )
        run_server(cfg)

    from allied_c2.cli.watch import watch_command

    app.command("watch")(watch_command)

"""`allied-c2 serve`, `demo` and `watch`."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from allied_c2.cli.common import ConfigOption, DatabaseUrlOption, DataDirOption, resolve_config
from allied_c2.config import Config, ConfigError, Endpoint
from allied_c2.logs import setup_logging

if TYPE_CHECKING:
    from allied_c2.cluster.settings import ClusterSettings

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


def cluster_settings(
    config: Config,
    url: str | None,
    node_id: str | None,
    prefix: str | None,
    user: str | None,
    nkey: Path | None,
    creds: Path | None,
    ca: Path | None,
    cert: Path | None,
    key: Path | None,
    serves: str | None = None,
) -> ClusterSettings | None:
    """The ``--cluster`` flags as settings, each falling back to the config file's key of
    the same name (None: a single-process server)."""
    url = url if url is not None else config.cluster
    if url is None:
        return None
    node_id = node_id if node_id is not None else config.node_id
    prefix = prefix if prefix is not None else config.cluster_prefix
    user = user if user is not None else config.cluster_user
    nkey = nkey if nkey is not None else config.cluster_nkey
    creds = creds if creds is not None else config.cluster_creds
    ca = ca if ca is not None else config.cluster_ca
    cert = cert if cert is not None else config.cluster_cert
    key = key if key is not None else config.cluster_key
    serves = serves if serves is not None else config.cluster_serves
    from allied_c2.cluster.settings import (
        ClusterSettings,
        ClusterSettingsError,
        default_node_id,
    )

    listener = config.cot_tls or config.cot_tcp
    port = listener.port if listener is not None and listener.port else None
    try:
        return ClusterSettings(
            servers=tuple(u.strip() for u in url.split(",") if u.strip()),
            node_id=node_id or default_node_id(port),
            prefix=prefix or "allied",
            user=user,
            nkey_seed=nkey,
            creds=creds,
            tls_ca=ca,
            tls_cert=cert,
            tls_key=key,
            serves=serves,
        )
    except ClusterSettingsError as exc:
        raise typer.BadParameter(str(exc)) from exc


def run_server(config: Config, cluster: ClusterSettings | None = None) -> None:
    """Run until SIGINT/SIGTERM; used by `serve` and `demo`."""
    setup_logging(config.log_level, config.log_json)
    import uvloop

    uvloop.run(_serve(config, cluster))


async def _serve(config: Config, cluster: ClusterSettings | None = None) -> None:
    from allied_c2.app import build_runtime, run_runtime

    try:
        runtime = build_runtime(config, cluster=cluster)
    except ConfigError as exc:  # e.g. a privileged [anonymous] profile: refuse to start
        typer.echo(f"error: configuration: {exc}", err=True)
        raise typer.Exit(2) from None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    from allied_c2.cluster.settings import ClusterJoinError

    try:
        await run_runtime(runtime, stop)
    except ClusterJoinError as exc:  # e.g. NATS refused the credentials: say so, exit 2
        typer.echo(f"error: cluster: {exc}", err=True)
        raise typer.Exit(2) from None


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
        cluster: Annotated[
            str | None,
            typer.Option(
                help="Join a cluster: NATS JetStream at nats://HOST:PORT or tls://HOST:PORT "
                "(user:password@ allowed; several comma-separated). Needs --database-url "
                "(PostgreSQL). docs/scaling.md"
            ),
        ] = None,
        node_id: Annotated[
            str | None, typer.Option(help="This node's name in the cluster (default host-port)")
        ] = None,
        cluster_prefix: Annotated[
            str | None,
            typer.Option(help="The cluster's stream and subject prefix (default 'allied')"),
        ] = None,
        cluster_user: Annotated[
            str | None,
            typer.Option(help="NATS user (password from ALLIED_C2_NATS_PASSWORD)"),
        ] = None,
        cluster_nkey: Annotated[
            Path | None, typer.Option(help="NATS nkey seed file", exists=True, dir_okay=False)
        ] = None,
        cluster_creds: Annotated[
            Path | None,
            typer.Option(help="NATS credentials file (JWT + nkey)", exists=True, dir_okay=False),
        ] = None,
        cluster_ca: Annotated[
            Path | None, typer.Option(help="CA for NATS over TLS", exists=True, dir_okay=False)
        ] = None,
        cluster_cert: Annotated[
            Path | None,
            typer.Option(help="Client certificate for NATS mutual TLS", exists=True),
        ] = None,
        cluster_key: Annotated[
            Path | None, typer.Option(help="Its private key", exists=True, dir_okay=False)
        ] = None,
        cluster_serves: Annotated[
            str | None,
            typer.Option(
                help="Carry only what principals of these nations, cleared up to LEVEL, may "
                "see, and serve only them: NATIONS[:LEVEL], e.g. PHL:SECRET (default: all)"
            ),
        ] = None,
        workers: Annotated[
            int,
            typer.Option(
                min=1,
                help="Processes on this host sharing the listeners (SO_REUSEPORT), each a "
                "node of the cluster: needs --cluster and --database-url. Default 1",
            ),
        ] = 1,
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
        settings = cluster_settings(
            cfg,
            cluster,
            node_id,
            cluster_prefix,
            cluster_user,
            cluster_nkey,
            cluster_creds,
            cluster_ca,
            cluster_cert,
            cluster_key,
            cluster_serves,
        )
        if workers > 1:
            if settings is None:
                raise typer.BadParameter(
                    "--workers shares one picture between processes through a cluster: "
                    "give --cluster nats://HOST:PORT and --database-url postgresql+psycopg://…",
                    param_hint="--workers",
                )
            from allied_c2.cli.workers import run_workers

            run_workers(cfg, settings, workers)
            return
        run_server(cfg, settings)

    from allied_c2.cli.watch import watch_command

    app.command("watch")(watch_command)

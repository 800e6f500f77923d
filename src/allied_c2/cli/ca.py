"""`allied-c2 ca` commands."""

from __future__ import annotations

from typing import Annotated

import typer

from allied_c2.cli.audit import audit_log, cli_actor
from allied_c2.cli.common import ConfigOption, DatabaseUrlOption, DataDirOption, resolve_config
from allied_c2.config import Config
from allied_c2.pki.authority import (
    CertificateAuthority,
    PkiError,
    PkiPaths,
    default_hostnames,
    init_ca,
)
from allied_c2.store.db import opened_database

app = typer.Typer(help="The server's certificate authority.", no_args_is_help=True)


def create_ca(config: Config, hostnames: list[str], *, force: bool = False) -> PkiPaths:
    """Create the CA and server certificate, and record that in the audit log."""
    try:
        paths = init_ca(config.data_dir, hostnames, force=force)
    except PkiError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    authority = CertificateAuthority.load(paths)
    with opened_database(config) as engine:
        audit_log(config, engine).append(
            cli_actor(),
            "ca.init",
            str(paths.ca_cert),
            {
                "ca_fingerprint": authority.fingerprint,
                "hostnames": default_hostnames(hostnames),
                "replaced": force,
            },
        )
    return paths


@app.command()
def init(
    hostname: Annotated[
        list[str] | None,
        typer.Option("--hostname", help="Extra name or address for the server certificate"),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace an existing CA (invalidates all clients)")
    ] = False,
    data_dir: DataDirOption = None,
    database_url: DatabaseUrlOption = None,
    config_file: ConfigOption = None,
) -> None:
    """Create the CA and the server certificate in DATA_DIR/pki."""
    config = resolve_config(data_dir, database_url, config_file)
    paths = create_ca(config, hostname or [], force=force)
    authority = CertificateAuthority.load(paths)
    typer.echo(f"CA certificate:     {paths.ca_cert}")
    typer.echo(f"CA key:             {paths.ca_key} (keep it secret)")
    typer.echo(f"server certificate: {paths.server_cert}")
    typer.echo(f"server key:         {paths.server_key}")
    typer.echo(f"server names:       {', '.join(default_hostnames(hostname or []))}")
    typer.echo(f"CA SHA-256:         {authority.fingerprint}")

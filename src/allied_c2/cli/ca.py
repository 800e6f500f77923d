"""`allied-c2 ca` commands, and the CA key's passphrase for every command that signs."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from allied_c2.cli.audit import audit_log, cli_actor
from allied_c2.cli.common import ConfigOption, DatabaseUrlOption, DataDirOption, resolve_config
from allied_c2.config import Config, make_data_dir
from allied_c2.pki.authority import (
    CA_PASSPHRASE_ENV,
    CertificateAuthority,
    PkiError,
    PkiPaths,
    default_hostnames,
    init_ca,
    load_ca_certificate,
)
from allied_c2.store.db import opened_database

app = typer.Typer(help="The server's certificate authority.", no_args_is_help=True)


def _prompt(confirm: bool) -> bytes:
    if not sys.stdin.isatty():
        raise PkiError(f"the CA key passphrase is needed: set {CA_PASSPHRASE_ENV}")
    text: str = typer.prompt(
        "CA key passphrase", hide_input=True, confirmation_prompt=confirm, err=True
    )
    if not text:
        raise PkiError("an empty passphrase does not protect the key")
    return text.encode("utf-8")


def new_ca_passphrase(encrypt: bool) -> bytes | None:
    """The passphrase for a CA being created: the environment's, else asked (with
    ``--encrypt-key``), else none. With the variable set every new CA is encrypted."""
    env = os.environ.get(CA_PASSPHRASE_ENV)
    if env:
        return env.encode("utf-8")
    return _prompt(confirm=True) if encrypt else None


def load_authority(config: Config) -> CertificateAuthority:
    """The CA with its key, asking for the passphrase when the key is encrypted."""
    paths = PkiPaths.under(config.data_dir)
    passphrase = None
    if paths.ca_key_encrypted():
        env = os.environ.get(CA_PASSPHRASE_ENV)
        passphrase = env.encode("utf-8") if env else _prompt(confirm=False)
    return CertificateAuthority.load(paths, passphrase)


def create_ca(
    config: Config, hostnames: list[str], *, force: bool = False, encrypt: bool = False
) -> PkiPaths:
    """Create the CA and server certificate, and record that in the audit log."""
    make_data_dir(config.data_dir)  # 0700 before pki/ is made inside it
    try:
        paths = init_ca(
            config.data_dir, hostnames, force=force, passphrase=new_ca_passphrase(encrypt)
        )
        certificate = load_ca_certificate(paths)
    except PkiError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    with opened_database(config) as engine:
        audit_log(config, engine).append(
            cli_actor(),
            "ca.init",
            str(paths.ca_cert),
            {
                "ca_fingerprint": CertificateAuthority.fingerprint_of(certificate),
                "hostnames": default_hostnames(hostnames),
                "replaced": force,
                "key_encrypted": paths.ca_key_encrypted(),
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
    encrypt_key: Annotated[
        bool,
        typer.Option(
            "--encrypt-key",
            help=f"Encrypt the CA key with a passphrase (from {CA_PASSPHRASE_ENV} or asked)",
        ),
    ] = False,
    data_dir: DataDirOption = None,
    database_url: DatabaseUrlOption = None,
    config_file: ConfigOption = None,
) -> None:
    """Create the CA and the server certificate in DATA_DIR/pki."""
    config = resolve_config(data_dir, database_url, config_file)
    paths = create_ca(config, hostname or [], force=force, encrypt=encrypt_key)
    certificate = load_ca_certificate(paths)
    protected = "encrypted with a passphrase" if paths.ca_key_encrypted() else "keep it secret"
    typer.echo(f"CA certificate:     {paths.ca_cert}")
    typer.echo(f"CA key:             {paths.ca_key} ({protected})")
    typer.echo(f"server certificate: {paths.server_cert}")
    typer.echo(f"server key:         {paths.server_key}")
    typer.echo(f"server names:       {', '.join(default_hostnames(hostname or []))}")
    typer.echo(f"CA SHA-256:         {CertificateAuthority.fingerprint_of(certificate)}")

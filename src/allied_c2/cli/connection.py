"""`allied-c2 user package`: a connection data package for ATAK/WinTAK or iTAK.

With a soft certificate (default) a new client certificate is issued for the
user (as `user cert` does, audited) and packed with the trust store; with
``--enroll`` the package carries only the trust store and makes the client
enroll for its certificate (`serve --enroll`, with a password or `user invite`).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

import typer

from allied_c2.cli.audited import fail
from allied_c2.cli.common import ConfigOption, DatabaseUrlOption, DataDirOption, resolve_config
from allied_c2.pki.authority import PkiError, PkiPaths, load_ca_certificate
from allied_c2.pki.bundle import DEFAULT_P12_PASSWORD, truststore_p12
from allied_c2.pki.connection_package import (
    STREAM_PORT,
    PackageInput,
    atak_package,
    itak_package,
)
from allied_c2.store.db import opened_database
from allied_c2.store.principals import PrincipalStore


def register(user_app: typer.Typer) -> None:
    @user_app.command("package")
    def package(
        callsign: Annotated[str, typer.Argument(help="Callsign")],
        host: Annotated[str, typer.Option("--host", help="The server's address for clients")],
        out: Annotated[Path, typer.Option("--out", help="The zip to write")],
        enroll: Annotated[
            bool, typer.Option("--enroll", help="Make the client enroll (no .p12 inside)")
        ] = False,
        itak: Annotated[bool, typer.Option("--itak", help="iTAK's flat zip")] = False,
        port: Annotated[int, typer.Option("--port", help="CoT TLS port")] = STREAM_PORT,
        p12_password: Annotated[
            str, typer.Option("--p12-password", help="PKCS#12 password (TAK default)")
        ] = DEFAULT_P12_PASSWORD,
        data_dir: DataDirOption = None,
        database_url: DatabaseUrlOption = None,
        config_file: ConfigOption = None,
    ) -> None:
        """A connection data package (manifest, .pref, trust store, .p12 or enrollment)."""
        from allied_c2.cli.users import issue_bundle

        config = resolve_config(data_dir, database_url, config_file)
        try:
            ca = load_ca_certificate(PkiPaths.under(config.data_dir))
        except PkiError as exc:
            fail(str(exc))
        client = None
        with opened_database(config) as engine:
            if PrincipalStore(engine).get(callsign) is None:
                fail(f"no active principal {callsign!r}")
            if not enroll:
                with tempfile.TemporaryDirectory() as scratch:
                    try:
                        bundle = issue_bundle(config, engine, callsign, Path(scratch), p12_password)
                    except PkiError as exc:
                        fail(str(exc))
                    client = bundle.p12.read_bytes()
        spec = PackageInput(
            callsign=callsign,
            host=host,
            port=port,
            truststore=truststore_p12(ca, p12_password),
            password=p12_password,
            client_p12=client,
        )
        data = itak_package(spec) if itak else atak_package(spec)
        out.write_bytes(data)
        out.chmod(0o600)  # it holds a private key unless --enroll
        kind = "iTAK" if itak else "ATAK/WinTAK"
        how = "enrollment" if enroll else "client certificate"
        typer.echo(f"{kind} connection package for {callsign} ({how}): {out}")

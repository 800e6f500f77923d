"""`allied-c2 user invite|passwd`: credentials for certificate enrollment (`serve --enroll`).

A one-time token is printed once, with ATAK's enrollment link
(``tak://com.atakmap.app/enroll?host=&username=&token=``: the token travels as
the Basic password; OTS ``token_api.py``, pytak ``cli_main.py``) as a QR code
in the terminal and, with ``--png``, as an image to show or print. Each
credential change is recorded in the audit log or undone.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated
from urllib.parse import urlencode

import segno
import typer
from sqlalchemy import Engine

from allied_c2.cli.audited import fail, record_change
from allied_c2.cli.common import ConfigOption, DatabaseUrlOption, DataDirOption, resolve_config
from allied_c2.config import Config, ConfigError, parse_duration
from allied_c2.store.credentials import MIN_PASSWORD, CredentialStore
from allied_c2.store.db import opened_database
from allied_c2.store.principals import UnknownPrincipal

PASSWORD_ENV = "ALLIED_C2_PASSWORD"  # for scripts; otherwise asked on the terminal


def enrollment_link(host: str, callsign: str, token: str) -> str:
    query = urlencode({"host": host, "username": callsign, "token": token})
    return f"tak://com.atakmap.app/enroll?{query}"


def read_password() -> str:
    value = os.environ.get(PASSWORD_ENV)
    if value is None:
        value = typer.prompt("enrollment password", hide_input=True, confirmation_prompt=True)
    if len(value) < MIN_PASSWORD:
        fail(f"a password has at least {MIN_PASSWORD} characters")
    return value


def set_password(config: Config, engine: Engine, callsign: str, password: str) -> None:
    try:
        CredentialStore(engine).set_password(callsign, password)
    except (UnknownPrincipal, ValueError) as exc:
        fail(str(exc))
    record_change(config, engine, "enroll.password", callsign, {})


def register(user_app: typer.Typer) -> None:
    @user_app.command("passwd")
    def passwd(
        callsign: Annotated[str, typer.Argument(help="Callsign")],
        data_dir: DataDirOption = None,
        database_url: DatabaseUrlOption = None,
        config_file: ConfigOption = None,
    ) -> None:
        """Set the password a TAK client enrolls with (Argon2id; ALLIED_C2_PASSWORD or asked)."""
        config = resolve_config(data_dir, database_url, config_file)
        password = read_password()
        with opened_database(config) as engine:
            set_password(config, engine, callsign, password)
        typer.echo(f"enrollment password set for {callsign}")

    @user_app.command("invite")
    def invite(
        callsign: Annotated[str, typer.Argument(help="Callsign")],
        host: Annotated[
            str, typer.Option("--host", help="The server's address as the client reaches it")
        ] = "127.0.0.1",
        expires: Annotated[
            str, typer.Option("--expires", help="How long the token is valid: 24h, 7d, 90m")
        ] = "24h",
        png: Annotated[
            Path | None, typer.Option("--png", help="Also write the QR code to this PNG file")
        ] = None,
        data_dir: DataDirOption = None,
        database_url: DatabaseUrlOption = None,
        config_file: ConfigOption = None,
    ) -> None:
        """A one-time enrollment token, its tak:// link and QR code (shown once)."""
        config = resolve_config(data_dir, database_url, config_file)
        try:
            life = parse_duration(expires)
        except ConfigError as exc:
            fail(str(exc))
        if life is None:
            fail("an enrollment token must expire (e.g. --expires 24h)")
        with opened_database(config) as engine:
            store = CredentialStore(engine)
            try:
                invitation = store.invite(callsign, datetime.now(UTC) + life)
            except UnknownPrincipal as exc:
                fail(str(exc))
            record_change(
                config,
                engine,
                "enroll.invite",
                callsign,
                {"expires": invitation.expires_at.isoformat()},
                undo=lambda: store.revoke_token(invitation.token),
            )
        link = enrollment_link(host, callsign, invitation.token)
        qr = segno.make(link, error="m")
        typer.echo(f"user:    {callsign}")
        typer.echo(f"token:   {invitation.token}")
        typer.echo(f"expires: {invitation.expires_at.isoformat(timespec='minutes')}")
        typer.echo(f"link:    {link}")
        qr.terminal(compact=True)
        if png is not None:
            qr.save(str(png), scale=8, border=4)
            typer.echo(f"QR code: {png}")
        typer.echo(
            "ATAK: scan the QR code (Network Preferences > TAK Servers > Quick Connect), or add "
            f"the server {host}:8089 with 'Enroll for Client Certificate', user {callsign} and "
            "the token as password. The token works once."
        )

"""`allied-c2 token` commands: bearer tokens for the HTTP API and the web COP.

A token expires by default (``token_default_expiry``, 30 days: NIST SP 800-63B
bounds the life of a bearer credential); ``--expires never`` is an explicit
choice. Only the token's SHA-256 is stored, so a lost token cannot be shown
again: revoke it by id (``token list`` shows the ids) and create another.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from allied_c2.cli.audited import fail, record_change
from allied_c2.cli.common import ConfigOption, DatabaseUrlOption, DataDirOption, resolve_config
from allied_c2.config import ConfigError, parse_duration
from allied_c2.store.db import opened_database
from allied_c2.store.principals import PrincipalError, PrincipalStore

token_app = typer.Typer(help="API bearer tokens.", no_args_is_help=True)


@token_app.command("create")
def token_create(
    callsign: Annotated[str, typer.Argument(help="Callsign the token stands for")],
    expires: Annotated[
        str | None,
        typer.Option(
            "--expires",
            help="Lifetime: 30d, 12h, 90m, 2w or 'never'. Default: token_default_expiry (30d)",
        ),
    ] = None,
    data_dir: DataDirOption = None,
    database_url: DatabaseUrlOption = None,
    config_file: ConfigOption = None,
) -> None:
    """Print a new bearer token (shown once; only its SHA-256 is stored)."""
    config = resolve_config(data_dir, database_url, config_file)
    try:
        lifetime = config.token_default_expiry if expires is None else parse_duration(expires)
    except ConfigError as exc:
        raise typer.BadParameter(str(exc), param_hint="--expires") from None
    until = None if lifetime is None else datetime.now(UTC) + lifetime
    with opened_database(config) as engine:
        store = PrincipalStore(engine)
        try:
            issued = store.issue_token(callsign, until)
        except PrincipalError as exc:
            fail(str(exc))
        record_change(
            config,
            engine,
            "token.create",
            callsign,
            {"token_id": issued.id, "expires": until.isoformat() if until else None},
            undo=lambda: store.revoke_token(issued.id),  # never shown: as if never made
        )
    typer.echo(issued.token)
    typer.echo(
        f"token {issued.id} for {callsign}, "
        f"{'expires ' + until.isoformat(timespec='seconds') if until else 'no expiry'}; "
        "use it as 'Authorization: Bearer <token>'. It is not shown again.",
        err=True,
    )


@token_app.command("list")
def token_list(
    callsign: Annotated[str | None, typer.Argument(help="Only this callsign's tokens")] = None,
    data_dir: DataDirOption = None,
    database_url: DatabaseUrlOption = None,
    config_file: ConfigOption = None,
) -> None:
    """Tokens (ids and status; the tokens themselves are not stored)."""
    config = resolve_config(data_dir, database_url, config_file)
    with opened_database(config) as engine:
        tokens = PrincipalStore(engine).tokens(callsign)
    table = Table(title=f"tokens ({len(tokens)})")
    for column in ("id", "callsign", "created", "expires", "status"):
        table.add_column(column)
    now = datetime.now(UTC)
    for token in tokens:
        expired = token.expires_at is not None and token.expires_at <= now
        table.add_row(
            str(token.id),
            token.callsign,
            token.created_at.isoformat(timespec="seconds"),
            token.expires_at.isoformat(timespec="seconds") if token.expires_at else "never",
            "revoked" if token.revoked else "expired" if expired else "active",
        )
    Console().print(table)


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[int, typer.Argument(help="Token id (see `allied-c2 token list`)")],
    data_dir: DataDirOption = None,
    database_url: DatabaseUrlOption = None,
    config_file: ConfigOption = None,
) -> None:
    """Revoke one bearer token (live web sessions using it are closed within seconds)."""
    config = resolve_config(data_dir, database_url, config_file)
    with opened_database(config) as engine:
        store = PrincipalStore(engine)
        owner = next((t.callsign for t in store.tokens() if t.id == token_id), None)
        if owner is None or not store.revoke_token(token_id):
            fail(f"no active token {token_id}")
        record_change(config, engine, "token.revoke", owner, {"token_id": token_id})
    typer.echo(f"revoked token {token_id} of {owner}")

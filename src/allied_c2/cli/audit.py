"""`allied-c2 audit` commands."""

from __future__ import annotations

import getpass
import json
import re
from collections.abc import Mapping
from datetime import UTC
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine

from allied_c2.cli.common import ConfigOption, DatabaseUrlOption, DataDirOption, resolve_config
from allied_c2.config import Config
from allied_c2.store.audit import AuditLog, anchor_path_for
from allied_c2.store.db import opened_database

app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)
_HEX = re.compile(r"[0-9a-f]+")


def cli_actor() -> str:
    """Who made a change from the command line, as the audit log records it."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no passwd entry (some containers)
        return "cli:unknown"


def audit_log(config: Config, engine: Engine) -> AuditLog:
    return AuditLog(engine, anchor_path_for(config.data_dir))


@app.command()
def verify(
    data_dir: DataDirOption = None,
    database_url: DatabaseUrlOption = None,
    config_file: ConfigOption = None,
) -> None:
    """Check that no audit entry was edited, inserted or deleted (exit 1 if one was)."""
    config = resolve_config(data_dir, database_url, config_file)
    with opened_database(config) as engine:
        report = audit_log(config, engine).verify()
    if report.ok:
        typer.echo(f"audit log intact: {report.entries} entries")
        return
    typer.echo(f"audit log BROKEN ({report.entries} entries read):", err=True)
    for problem in report.problems:
        typer.echo(f"  - {problem}", err=True)
    raise typer.Exit(1)


@app.command()
def show(
    limit: Annotated[int, typer.Option("--limit", min=1, help="Newest N entries")] = 50,
    action: Annotated[
        str | None, typer.Option("--action", help="Only this action, e.g. user.add")
    ] = None,
    as_operator: Annotated[
        bool,
        typer.Option(
            "--as-operator",
            help="Required: this reads the database directly, unfiltered, as its operator",
        ),
    ] = False,
    data_dir: DataDirOption = None,
    database_url: DatabaseUrlOption = None,
    config_file: ConfigOption = None,
) -> None:
    """The newest audit entries, oldest first, read from the database directly (--as-operator).

    Audit entries name users, uids and markings of refused items; only people
    cleared for everything the server holds should read them.
    """
    if not as_operator:
        raise typer.BadParameter("audit show reads the database unfiltered: add --as-operator")
    config = resolve_config(data_dir, database_url, config_file)
    with opened_database(config) as engine:
        entries = audit_log(config, engine).tail(limit, action=action)
    table = Table(title=f"audit log ({len(entries)} entries)")
    table.add_column("seq", justify="right")
    table.add_column("at (UTC)", no_wrap=True)
    table.add_column("actor", overflow="fold")
    table.add_column("action", no_wrap=True)
    for column in ("subject", "detail"):
        table.add_column(column, overflow="fold")
    for entry in entries:
        table.add_row(
            str(entry.seq),
            entry.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
            entry.actor,
            entry.action,
            entry.subject,
            _summary(entry.detail),
        )
    Console().print(table)


def _summary(detail: Mapping[str, object]) -> str:
    """``key=value`` pairs, long hex digests shortened: full values are in the database."""
    parts = []
    for key in sorted(detail):
        value = detail[key]
        if isinstance(value, str) and len(value) == 64 and _HEX.fullmatch(value):
            text = value[:16] + "…"
        elif isinstance(value, str):
            text = value
        else:
            text = json.dumps(value, ensure_ascii=False)
        parts.append(f"{key}={text}")
    return " ".join(parts)

"""`allied-c2 history`: stored events read back from the database.

It reads the database directly. As its operator (``--as-operator``) nothing is
filtered: that access is for people cleared for everything the server holds.
With ``--as CALLSIGN`` it shows exactly what that principal may see, through
the same audience decision (release and addressing) as the HTTP API.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from allied_c2.cli.common import ConfigOption, DatabaseUrlOption, DataDirOption, resolve_config
from allied_c2.security.audience import Reader
from allied_c2.server.history_views import visible_rows
from allied_c2.store.db import opened_database
from allied_c2.store.events import EventReader, EventRecordRow
from allied_c2.store.principals import PrincipalStore

AS_OPERATOR_HELP = (
    "Read the database directly, unfiltered, as its operator (requires being cleared "
    "for everything the server holds)"
)


class Format(StrEnum):
    table = "table"
    xml = "xml"
    json = "json"


def parse_time(text: str | None) -> datetime | None:
    """ISO 8601; a time without a zone is taken as UTC (CoT times are UTC)."""
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise typer.BadParameter(f"{text!r} is not an ISO 8601 time") from exc
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def as_json(row: EventRecordRow) -> dict[str, object]:
    return {
        "id": row.id,
        "uid": row.uid,
        "type": row.type,
        "how": row.how,
        "time": row.time.isoformat(),
        "start": row.start.isoformat(),
        "stale": row.stale.isoformat(),
        "lat": row.lat,
        "lon": row.lon,
        "hae": row.hae,
        "access": row.access,
        "caveat": row.caveat,
        "releasable_to": row.releasable_to,
        "banner": row.banner,
        "originator": row.originator,
        "sender": row.sender,
        "received_at": row.received_at.isoformat(),
        "xml": row.xml.decode("utf-8", errors="replace"),
    }


def history(
    uid: Annotated[str | None, typer.Option("--uid", help="Only this uid")] = None,
    since: Annotated[str | None, typer.Option("--since", help="ISO time (UTC if no zone)")] = None,
    until: Annotated[str | None, typer.Option("--until", help="ISO time (UTC if no zone)")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Newest N events")] = 1000,
    output: Annotated[Format, typer.Option("--format", help="table, xml or json")] = Format.table,
    as_operator: Annotated[bool, typer.Option("--as-operator", help=AS_OPERATOR_HELP)] = False,
    as_callsign: Annotated[
        str | None,
        typer.Option("--as", help="Show only what this principal may see (release and addressing)"),
    ] = None,
    data_dir: DataDirOption = None,
    database_url: DatabaseUrlOption = None,
    config_file: ConfigOption = None,
) -> None:
    """Stored events, oldest first (by event time), read from the database directly.

    Say whose view: --as-operator (unfiltered) or --as CALLSIGN (that principal's).
    """
    if as_operator == (as_callsign is not None):
        raise typer.BadParameter("give exactly one of --as-operator or --as CALLSIGN")
    start, end = parse_time(since), parse_time(until)
    config = resolve_config(data_dir, database_url, config_file)
    with opened_database(config) as engine:
        events = EventReader(engine)
        rows = events.history(uid, start, end, limit)
        if as_callsign is not None:
            from allied_c2.app import offline_hub  # the server's audience, without listeners

            principal = PrincipalStore(engine).get(as_callsign)
            if principal is None:
                raise typer.BadParameter(f"no active principal {as_callsign!r}")
            hub = offline_hub(config, events)
            reader: Reader = hub.reader_for(principal)
            rows = [row for row, _, _ in visible_rows(hub, rows, reader, config.max_event_bytes)]
    if output is Format.json:
        typer.echo(json.dumps([as_json(row) for row in rows], indent=2, ensure_ascii=False))
    elif output is Format.xml:
        for row in rows:
            typer.echo(row.xml.decode("utf-8", errors="replace"))
    else:
        table = Table(title=f"history ({len(rows)} events)")
        for column in ("time", "uid", "type", "lat", "lon", "hae", "marking", "sender"):
            table.add_column(column, overflow="fold")
        for row in rows:
            table.add_row(
                row.time.isoformat(timespec="seconds"),
                row.uid,
                row.type,
                f"{row.lat:.5f}",
                f"{row.lon:.5f}",
                f"{row.hae:.1f}",
                row.banner,
                row.sender or "-",
            )
        Console().print(table)


def register(app: typer.Typer) -> None:
    app.command("history")(history)

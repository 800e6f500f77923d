"""`allied-c2 request`: submit, list, show and act on decision requests via the server."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Column, Table

from allied_c2.cli.remote import (
    DEFAULT_DATA_DIR,
    Api,
    JsonOption,
    RemoteDataDirOption,
    TokenOption,
    UrlOption,
    out,
    print_banner,
    print_json,
)

app = typer.Typer(help="Decision requests on a running server", no_args_is_help=True)


def _show(request: dict[str, Any]) -> None:
    banner = request["marking"]["banner"] if request.get("marking") else "?"
    print_banner(banner)
    out.print(
        f"[bold]{request['id']}[/bold] {request['kind_title']} from {request['originator']}"
        f" ({request['urgency']})"
    )
    out.print(f"subject: {request['subject']}")
    out.print(
        f"state: {request['state']}; held by {', '.join(request['holders']) or '-'}; "
        f"deadline {request.get('deadline') or '-'}; needed by {request['needed_by'] or '-'}"
    )
    route = request["route"]
    out.print(
        f"route: {' > '.join(route['hops'])}; counterparts: "
        f"{', '.join(route['counterparts']) or '-'}"
    )
    table = Table("#", "at", "by", "action", "state", "holders", "reason")
    for step in request["history"]:
        table.add_row(
            str(step["seq"]),
            step["at"],
            step["actor"],
            step["action"],
            step["to"],
            ", ".join(step["holders"]),
            step["reason"],
        )
    out.print(table)
    if "allowed_actions" in request:
        out.print(f"you may: {', '.join(request['allowed_actions']) or 'nothing'}")
    print_banner(banner)


@app.command("submit")
def submit(
    kind: Annotated[str, typer.Option("--kind", help="Request kind, e.g. isr_support")],
    originator: Annotated[str, typer.Option("--originator", help="Originating organisation id")],
    subject: Annotated[str, typer.Option("--subject")],
    marking: Annotated[
        str, typer.Option("--marking", help="Banner, e.g. 'SECRET//REL TO USA, JPN'")
    ],
    needed_by: Annotated[str | None, typer.Option("--needed-by", help="ISO 8601 time")] = None,
    urgency: Annotated[str, typer.Option("--urgency", help="routine|priority|urgent")] = "routine",
    lat: Annotated[float | None, typer.Option("--lat")] = None,
    lon: Annotated[float | None, typer.Option("--lon")] = None,
    url: UrlOption = None,
    token: TokenOption = None,
    data_dir: RemoteDataDirOption = DEFAULT_DATA_DIR,
    as_json: JsonOption = False,
) -> None:
    """Submit a request; it is routed and its first holder's deadline armed."""
    body: dict[str, Any] = {
        "kind": kind,
        "originator": originator,
        "subject": subject,
        "marking": marking,
        "needed_by": needed_by,
        "urgency": urgency,
    }
    if lat is not None or lon is not None:
        body.update(lat=lat, lon=lon)
    request = Api(url, token, data_dir).call("POST", "/api/v1/requests", json=body)
    if as_json:
        print_json(request)
    else:
        _show(request)


@app.command("list")
def list_requests(
    state: Annotated[str | None, typer.Option("--state", help="Only this state")] = None,
    url: UrlOption = None,
    token: TokenOption = None,
    data_dir: RemoteDataDirOption = DEFAULT_DATA_DIR,
    as_json: JsonOption = False,
) -> None:
    """The requests you may see."""
    params = {"state": state} if state else {}
    data = Api(url, token, data_dir).call("GET", "/api/v1/requests", params=params)
    if as_json:
        print_json(data)
        return
    print_banner(data["banner"])
    table = Table(
        Column("id", no_wrap=True),
        "kind",
        "from",
        "state",
        "held by",
        "deadline",
        Column("marking", no_wrap=True),
        "you may",
    )
    for r in data["requests"]:
        table.add_row(
            r["id"],
            r["kind"],
            r["originator"],
            r["state"],
            ", ".join(r["holders"]),
            r.get("deadline") or "-",
            r["marking"]["portion"],
            ", ".join(r.get("allowed_actions", [])),
        )
    out.print(table)
    print_banner(data["banner"])


@app.command("show")
def show(
    request_id: Annotated[str, typer.Argument(help="e.g. REQ-0001")],
    url: UrlOption = None,
    token: TokenOption = None,
    data_dir: RemoteDataDirOption = DEFAULT_DATA_DIR,
    as_json: JsonOption = False,
) -> None:
    """One request with its history and what you may do with it."""
    request = Api(url, token, data_dir).call("GET", f"/api/v1/requests/{request_id}")
    if as_json:
        print_json(request)
    else:
        _show(request)


@app.command("act")
def act(
    request_id: Annotated[str, typer.Argument(help="e.g. REQ-0001")],
    action: Annotated[
        str,
        typer.Argument(
            help="approve, deny, forward, return, concur, nonconcur, comment, escalate, withdraw"
        ),
    ],
    reason: Annotated[str, typer.Option("--reason", help="Required for deny/return/…")] = "",
    url: UrlOption = None,
    token: TokenOption = None,
    data_dir: RemoteDataDirOption = DEFAULT_DATA_DIR,
    as_json: JsonOption = False,
) -> None:
    """Act on a request your organisation holds."""
    request = Api(url, token, data_dir).call(
        "POST",
        f"/api/v1/requests/{request_id}/actions",
        json={"action": action, "reason": reason},
    )
    if as_json:
        print_json(request)
    else:
        _show(request)

"""Talking to a running server's HTTP API from the command line.

The request and readiness commands go through the server rather than the
database, so the server's release decision, audit trail and live views see
every change exactly as they would from the web COP.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, NoReturn

import httpx
import typer
from rich.console import Console

TOKEN_ENV = "ALLIED_C2_TOKEN"
DEFAULT_DATA_DIR = Path("var")

UrlOption = Annotated[
    str | None,
    typer.Option("--url", help="Server base URL. Default: http from DATA_DIR/endpoints.json"),
]
TokenOption = Annotated[
    str | None,
    typer.Option("--token", envvar=TOKEN_ENV, help=f"API token (or ${TOKEN_ENV})"),
]
RemoteDataDirOption = Annotated[
    Path, typer.Option("--data-dir", help="Where endpoints.json is. Default ./var")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the server's JSON")]

err = Console(stderr=True)
out = Console()


def fail(message: str) -> NoReturn:
    err.print(f"[red]error:[/red] {message}")
    raise typer.Exit(1)


def base_url(url: str | None, data_dir: Path) -> str:
    if url:
        return url.rstrip("/")
    path = data_dir / "endpoints.json"
    try:
        endpoints = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        fail(f"no --url and no running server's {path} ({exc})")
    address = endpoints.get("http")
    if not address:
        fail(f"{path} lists no http endpoint; pass --url")
    return f"http://{address}"


class Api:
    def __init__(self, url: str | None, token: str | None, data_dir: Path) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.client = httpx.Client(base_url=base_url(url, data_dir), headers=headers, timeout=30)

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self.client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            fail(f"{method} {path}: {exc}")
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail", response.text)
            except ValueError:
                detail = response.text
            fail(f"{response.status_code}: {detail}")
        return response.json()


def print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


def print_banner(text: str) -> None:
    """A response's classification banner (the server's roll-up), centred in bold."""
    out.print(f"[bold]{text}[/bold]", justify="center")

"""`allied-c2 c2sim`: C2SIM reports into a running server's picture, the picture out as
C2SIM position reports, and schema validation of C2SIM files.

``ingest`` and ``reports`` go through the server's HTTP API like the request and
readiness commands: the server marks, send-checks, records and relays each event
as it would a TAK client's, and the reports are release-filtered for the caller.
Writing to the database directly would bypass all of that and the live picture.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from allied_c2.alliance.c2sim_xml import DEFAULT_VERSION, VERSIONS, C2SIMError, schema_problems
from allied_c2.cli.remote import (
    DEFAULT_DATA_DIR,
    Api,
    JsonOption,
    RemoteDataDirOption,
    TokenOption,
    UrlOption,
    err,
    fail,
    print_banner,
    print_json,
)

BANNER_HEADER = "X-Classification-Banner"
app = typer.Typer(help="C2SIM reports in and out of a running server", no_args_is_help=True)


def _send(api: Api, method: str, path: str, **kwargs: Any) -> httpx.Response:
    try:
        response = api.client.request(method, path, **kwargs)
    except httpx.HTTPError as exc:
        fail(f"{method} {path}: {exc}")
    if response.status_code >= 400:
        try:
            detail = response.json().get("detail", response.text)
        except ValueError:
            detail = response.text
        fail(f"{response.status_code}: {detail}")
    return response


@app.command("ingest")
def ingest(
    files: Annotated[list[Path], typer.Argument(help="C2SIM report messages (XML)")],
    marking: Annotated[
        str | None,
        typer.Option(
            "--marking",
            help="Banner for the events, e.g. 'SECRET//REL TO USA, JPN' "
            "(at least the message's level). Default: the message's level, else the server's",
        ),
    ] = None,
    url: UrlOption = None,
    token: TokenOption = None,
    data_dir: RemoteDataDirOption = DEFAULT_DATA_DIR,
    as_json: JsonOption = False,
) -> None:
    """Put C2SIM position and observation reports on the server's picture, as you."""
    api = Api(url, token, data_dir)
    params = {"marking": marking} if marking else {}
    results = []
    for file in files:
        try:
            data = file.read_bytes()
        except OSError as exc:
            fail(f"{file}: {exc}")
        response = _send(
            api,
            "POST",
            "/api/v1/c2sim",
            content=data,
            params=params,
            headers={"Content-Type": "application/xml"},
        )
        result = response.json()
        results.append({"file": str(file), **result})
        if as_json:
            continue
        print_banner(result["marking"])
        typer.echo(
            f"{file}: {len(result['accepted'])} on the picture: {' '.join(result['accepted'])}"
        )
        if result["refused"]:
            typer.echo(f"  refused (see the audit log): {' '.join(result['refused'])}")
        for note in result["notes"]:
            typer.echo(f"  note: {note}")
        if result["not_mapped"]:
            typer.echo("  not mapped (element path ×count (values)):")
            for line in result["not_mapped"]:
                typer.echo(f"    {line}")
    if as_json:
        print_json(results)


@app.command("reports")
def reports(
    out: Annotated[Path | None, typer.Option("--out", help="Write here (default: stdout)")] = None,
    c2sim_version: Annotated[
        str, typer.Option("--c2sim-version", help=f"C2SIM schema: {', '.join(VERSIONS)}")
    ] = DEFAULT_VERSION,
    no_header: Annotated[
        bool, typer.Option("--no-header", help="Root MessageBody, without C2SIMHeader")
    ] = False,
    url: UrlOption = None,
    token: TokenOption = None,
    data_dir: RemoteDataDirOption = DEFAULT_DATA_DIR,
) -> None:
    """The picture you may see as one C2SIM position report message."""
    api = Api(url, token, data_dir)
    params = {"version": c2sim_version, "header": str(not no_header).lower()}
    response = _send(api, "GET", "/api/v1/c2sim/reports", params=params)
    banner = response.headers.get(BANNER_HEADER, "")
    err.print(f"[bold]{banner}[/bold]", justify="center")
    if response.status_code == 204:
        err.print("nothing on the picture to report")
        return
    if out is None:
        sys.stdout.buffer.write(response.content)
    else:
        out.write_bytes(response.content)
        err.print(f"wrote {out}: handle it as {banner}")


@app.command("validate")
def validate(
    files: Annotated[list[Path], typer.Argument(help="C2SIM XML files")],
    xsd: Annotated[
        Path, typer.Option("--xsd", help="The C2SIM schema, e.g. C2SIM_SMX_LOX_v1.0.0.xsd")
    ],
) -> None:
    """Validate C2SIM files against a schema you bring (none is shipped); exit 1 on failure."""
    try:
        schema = xsd.read_bytes()
    except OSError as exc:
        fail(f"{xsd}: {exc}")
    failed = 0
    for file in files:
        try:
            problems = schema_problems(file.read_bytes(), schema)
        except (OSError, C2SIMError) as exc:
            problems = [str(exc)]
        failed += bool(problems)
        typer.echo(f"{file}: " + ("valid" if not problems else "INVALID"))
        for problem in problems[:20]:
            typer.echo(f"  {problem}")
    raise typer.Exit(1 if failed else 0)

"""`allied-c2 readiness`: report, list and roll up unit readiness via the server."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from allied_c2.cli.remote import (
    DEFAULT_DATA_DIR,
    Api,
    JsonOption,
    RemoteDataDirOption,
    TokenOption,
    UrlOption,
    fail,
    out,
    print_banner,
    print_json,
)

app = typer.Typer(help="Unit readiness on a running server", no_args_is_help=True)


def _mets(values: list[str]) -> list[dict[str, str]]:
    mets: list[dict[str, str]] = []
    for value in values:
        task, sep, rating = value.rpartition("=")
        if not sep or not task:
            fail(f"--met {value!r}: write TASK=Y, TASK=Q or TASK=N")
        mets.append({"task": task, "rating": rating.upper()})
    return mets


@app.command("report")
def report(
    unit: Annotated[str, typer.Option("--unit", help="Organisation id of the unit")],
    p: Annotated[int, typer.Option("--p", help="Personnel 1-4")],
    s: Annotated[int, typer.Option("--s", help="Equipment and supplies on hand 1-4")],
    r: Annotated[int, typer.Option("--r", help="Equipment condition 1-4")],
    t: Annotated[int, typer.Option("--t", help="Training 1-4")],
    assessed: Annotated[
        str | None, typer.Option("--assessed", help="Commander's C-level, e.g. C-2")
    ] = None,
    reason: Annotated[str, typer.Option("--reason", help="Why the assessment differs")] = "",
    met: Annotated[list[str] | None, typer.Option("--met", help="TASK=Y|Q|N (repeatable)")] = None,
    marking: Annotated[
        str | None, typer.Option("--marking", help="Default: the unit record's")
    ] = None,
    reported_at: Annotated[
        str | None, typer.Option("--reported-at", help="ISO 8601; default now")
    ] = None,
    url: UrlOption = None,
    token: TokenOption = None,
    data_dir: RemoteDataDirOption = DEFAULT_DATA_DIR,
    as_json: JsonOption = False,
) -> None:
    """Post a readiness report for a unit in your chain of command."""
    body: dict[str, Any] = {
        "unit": unit,
        "p": p,
        "s": s,
        "r": r,
        "t": t,
        "assessed": assessed,
        "reason": reason,
        "mets": _mets(met or []),
        "marking": marking,
        "reported_at": reported_at,
    }
    data = Api(url, token, data_dir).call("POST", "/api/v1/readiness", json=body)
    if as_json:
        print_json(data)
        return
    out.print(
        f"report {data['id']}: {data['unit']} {data['level']} "
        f"(computed {data['computed']}) marked {data['marking']['banner']}"
    )


@app.command("list")
def list_reports(
    url: UrlOption = None,
    token: TokenOption = None,
    data_dir: RemoteDataDirOption = DEFAULT_DATA_DIR,
    as_json: JsonOption = False,
) -> None:
    """Each unit's latest report that you may see."""
    data = Api(url, token, data_dir).call("GET", "/api/v1/readiness")
    if as_json:
        print_json(data)
        return
    print_banner(data["banner"])
    table = Table("unit", "level", "P", "S", "R", "T", "reported", "stale", "marking")
    for rep in data["reports"]:
        table.add_row(
            rep["unit"],
            rep["level"],
            *(str(rep[k]) for k in "psrt"),
            rep["reported_at"],
            "STALE" if rep["stale"] else "",
            rep["marking"]["portion"],
        )
    out.print(table)
    print_banner(data["banner"])


@app.command("rollup")
def rollup(
    org: Annotated[str | None, typer.Option("--org", help="Command subtree to roll up")] = None,
    by_nation: Annotated[bool, typer.Option("--by-nation", help="One roll-up per nation")] = False,
    url: UrlOption = None,
    token: TokenOption = None,
    data_dir: RemoteDataDirOption = DEFAULT_DATA_DIR,
    as_json: JsonOption = False,
) -> None:
    """Readiness rolled up over the reports you may see."""
    if (org is None) == (not by_nation):
        fail("give --org ID or --by-nation")
    params = {"by": "nation"} if by_nation else {"org": org}
    data = Api(url, token, data_dir).call("GET", "/api/v1/readiness/rollup", params=params)
    if as_json:
        print_json(data)
        return
    rows = data["nations"] if by_nation else {data["org"]: data}
    print_banner(data["banner"])
    table = Table("scope", "units", "reported", "stale", "missing", "worst", "C-1..C-5")
    for name, item in rows.items():
        table.add_row(
            name,
            str(item["units"]),
            str(item["reported"]),
            str(item["stale"]),
            str(item["missing"]),
            item["worst"] or "-",
            " ".join(str(v) for v in item["by_level"].values()),
        )
    out.print(table)
    out.print(f"({data['note']})")
    print_banner(data["banner"])

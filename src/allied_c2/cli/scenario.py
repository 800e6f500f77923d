"""`allied-c2 scenario` commands."""

from __future__ import annotations

import typer

app = typer.Typer(help="scenario", no_args_is_help=True)

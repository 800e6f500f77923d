"""`allied-c2 analyze` commands."""

from __future__ import annotations

import typer

app = typer.Typer(help="analyze", no_args_is_help=True)

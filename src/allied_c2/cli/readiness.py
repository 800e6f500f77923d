"""`allied-c2 readiness` commands."""

from __future__ import annotations

import typer

app = typer.Typer(help="readiness", no_args_is_help=True)

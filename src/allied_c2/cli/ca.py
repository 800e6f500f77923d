"""`allied-c2 ca` commands."""

from __future__ import annotations

import typer

app = typer.Typer(help="ca", no_args_is_help=True)

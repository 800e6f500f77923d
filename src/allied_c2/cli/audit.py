"""`allied-c2 audit` commands."""

from __future__ import annotations

import typer

app = typer.Typer(help="audit", no_args_is_help=True)

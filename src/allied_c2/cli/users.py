"""`allied-c2 user` and `allied-c2 token` commands."""

from __future__ import annotations

import typer

user_app = typer.Typer(help="Principals and their client certificates.", no_args_is_help=True)
token_app = typer.Typer(help="API bearer tokens.", no_args_is_help=True)

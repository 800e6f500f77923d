"""Options every command that touches a data directory shares."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from allied_c2.config import Config, ConfigError, load_config

DataDirOption = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Data directory (database, CA, endpoints.json). Default ./var"),
]
DatabaseUrlOption = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help=(
            "SQLAlchemy URL, e.g. postgresql+psycopg://user@host/db. "
            "Default: SQLite in the data dir"
        ),
    ),
]
ConfigOption = Annotated[
    Path | None, typer.Option("--config", help="TOML configuration file", exists=True)
]


def resolve_config(
    data_dir: Path | None, database_url: str | None, config_file: Path | None, **overrides: object
) -> Config:
    """The file's settings, then the flags given on the command line."""
    try:
        config = load_config(config_file)
    except ConfigError as exc:
        raise typer.BadParameter(str(exc)) from exc
    return config.with_overrides(data_dir=data_dir, database_url=database_url, **overrides)

"""Engines and schema migrations for SQLite (default) and PostgreSQL."""

from __future__ import annotations

import contextlib
import importlib.resources
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url

from allied_c2.config import Config

SQLITE_BUSY_TIMEOUT_MS = 10_000
# Arbitrary constant: the PostgreSQL advisory lock that serialises migrations.
_MIGRATION_LOCK = 0x616C6C6965640001


def normalise_url(url: str) -> str:
    """Route plain ``postgresql://`` URLs to psycopg 3 (psycopg2 is not installed)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def create_engine_for(url: str) -> Engine:
    """An engine with the pragmas each backend needs; creates a SQLite file's directory."""
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    database = parsed.database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        # WAL lets readers (history API, CLI) run while the writer thread commits.
        cursor.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode: durable against a process crash, may lose the last
        # commits on a power loss; the batched writer already accepts that window.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    finally:
        cursor.close()


@contextlib.contextmanager
def _script_location() -> Iterator[Path]:
    resource = importlib.resources.files("allied_c2.store") / "migrations"
    with importlib.resources.as_file(resource) as path:
        yield Path(path)


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (``alembic upgrade head``).

    Cheap when already current, so every process may call it at start.
    """
    with _script_location() as location:
        alembic_config = AlembicConfig()
        alembic_config.set_main_option("script_location", str(location))
        head = ScriptDirectory.from_config(alembic_config).get_current_head()
        with engine.connect() as connection:
            if MigrationContext.configure(connection).get_current_revision() == head:
                return
        with engine.begin() as connection:
            if engine.dialect.name == "postgresql":
                # A server and a CLI starting together must not both create tables.
                connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK})
            alembic_config.attributes["connection"] = connection
            command.upgrade(alembic_config, "head")


def open_database(config: Config) -> Engine:
    """The configured database, created and migrated if needed."""
    config.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_engine_for(config.effective_database_url)
    migrate(engine)
    return engine

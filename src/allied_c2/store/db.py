"""Engines and schema migrations for SQLite (default) and PostgreSQL."""

from __future__ import annotations

import contextlib
import importlib.resources
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from allied_c2.config import Config, make_data_dir

SQLITE_BUSY_TIMEOUT_MS = 10_000
# Arbitrary constant: the PostgreSQL advisory lock that serialises migrations.
_MIGRATION_LOCK = 0x616C6C6965640001


def normalise_url(url: str) -> str:
    """Route plain ``postgresql://`` URLs to psycopg 3 (psycopg2 is not installed)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


SQLITE_PAGE_SIZE = 16384
# Each SQLite connection's page cache, in KiB (SQLite's default is 2,000). The file's
# pages stay in the kernel's page cache either way (not the server's RSS), so SQLite's
# own copy mostly holds them twice. Medium load for 15 s (docs/benchmarks.md "Where the
# memory is") grew the server's anonymous memory by 3.2 MB with the default, 1.7 MB with
# 512 KiB (a longer run fills each connection's cache to its bound), with no measurable
# change in the server's CPU (0.19 cores over TCP, 0.31-0.33 over TLS).
SQLITE_CACHE_KIB = 512

# libpq connection parameters, unless the URL sets them: a PostgreSQL server that stops
# answering (a partition, a dead host) must fail a call in seconds, not after Linux's
# ~15 minutes of TCP retransmissions (net.ipv4.tcp_retries2), during which the calling
# thread, its connection and whatever it holds would wait. tcp_user_timeout bounds
# unacknowledged sends (a slow query is still acknowledged at once); keepalives find a
# dead peer on an idle connection; connect_timeout bounds a new connection.
PG_CONNECT_DEFAULTS: dict[str, int] = {
    "connect_timeout": 5,
    "keepalives": 1,
    "keepalives_idle": 5,
    "keepalives_interval": 2,
    "keepalives_count": 3,
    "tcp_user_timeout": 10_000,  # ms
}


def create_engine_for(url: str) -> Engine:
    """An engine with the pragmas each backend needs; creates a SQLite file's directory."""
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        defaults = {k: v for k, v in PG_CONNECT_DEFAULTS.items() if k not in parsed.query}
        return create_engine(url, pool_pre_ping=True, connect_args=defaults)
    database = parsed.database
    if database and database != ":memory:" and not database.startswith("file:"):
        private_sqlite_file(Path(database))
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def private_sqlite_file(path: Path) -> None:
    """Create the database file owner-only (0600) before SQLite opens it.

    SQLite creates a file with the process umask (often 0644: world-readable
    history, principals and audit log) and gives its ``-wal`` and ``-shm`` files
    the database file's own mode, so the mode is set on the database file first;
    files an older version left readable are tightened. The directory is made
    0700 when it is created here.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # Never open an existing database file here: closing any descriptor of a file drops
    # every POSIX lock this process holds on it (fcntl semantics), so a second engine in
    # a process that already has the database open (a CLI command beside an in-process
    # server, a test) would pull the locks from under SQLite's connections: their WAL
    # can then be checkpointed and deleted under them ("disk I/O error"). chmod is safe.
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    for name in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        with contextlib.suppress(FileNotFoundError, PermissionError):
            if stat.S_IMODE(name.stat().st_mode) & 0o077:
                os.chmod(name, 0o600)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        # Only takes effect on a new, empty database (an existing one keeps its
        # size). History rows are about 1 KB; with 16 KiB pages the writer thread
        # spends about 30 % less CPU per row than with the 4 KiB default.
        cursor.execute(f"PRAGMA page_size={SQLITE_PAGE_SIZE}")
        # WAL lets readers (history API, CLI) run while the writer thread commits.
        cursor.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode: durable against a process crash, may lose the last
        # commits on a power loss; the batched writer already accepts that window.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")  # negative: KiB
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    finally:
        cursor.close()


@contextlib.contextmanager
def _script_location() -> Iterator[Path]:
    resource = importlib.resources.files("allied_c2.store") / "migrations"
    with importlib.resources.as_file(resource) as path:
        yield Path(path)


# The newest migration; a test checks it against Alembic's own head. Knowing it
# lets a server see that its schema is current without importing Alembic.
SCHEMA_HEAD = "0006_events_time"


def schema_is_current(engine: Engine) -> bool:
    try:
        with engine.connect() as connection:
            found = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except DBAPIError:
        return False  # no alembic_version table yet: an empty database
    return found == SCHEMA_HEAD


def migrate_out_of_process(url: str) -> None:
    """Migrate in a short-lived child process.

    Alembic and its templates cost a long-running server about 10 MB that it
    would never give back; a child that exits takes them with it.
    """
    result = subprocess.run(
        [sys.executable, "-m", "allied_c2.store.migrate", url],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"database migration failed:\n{result.stderr.strip()}")


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (``alembic upgrade head``).

    Cheap when already current, so every process may call it at start.
    """
    from alembic import command
    from alembic.config import Config as AlembicConfig
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

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


@contextlib.contextmanager
def opened_database(config: Config) -> Iterator[Engine]:
    """:func:`open_database` for one command: the engine is disposed when it is done."""
    engine = open_database(config)
    try:
        yield engine
    finally:
        engine.dispose()


def open_database(config: Config) -> Engine:
    """The configured database, created and migrated if needed."""
    make_data_dir(config.data_dir)
    engine = create_engine_for(config.effective_database_url)
    migrate(engine)
    return engine

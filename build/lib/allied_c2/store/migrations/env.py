"""Alembic environment: runs on a connection handed over by ``store.db.migrate``,
or on ``-x url=...`` / ``ALLIED_C2_DATABASE_URL`` when driven by the alembic CLI."""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import Connection

from allied_c2.store.db import create_engine_for
from allied_c2.store.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds tables instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _main() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.get_x_argument(as_dictionary=True).get("url") or os.environ.get(
        "ALLIED_C2_DATABASE_URL", "sqlite:///var/allied-c2.db"
    )
    engine = create_engine_for(url)
    with engine.begin() as conn:
        _run(conn)
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; use a database URL")
_main()

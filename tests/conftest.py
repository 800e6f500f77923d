"""Fixtures shared by every test area.

PostgreSQL: one uniquely named database per test session on the server named by
ALLIED_C2_TEST_PG (default postgresql+psycopg://postgres@127.0.0.1:5432/test),
dropped at the end. When no server is reachable the tests that need it skip and
say why; `make test` starts the local one where the machine has it.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

PG_ADMIN_URL = os.environ.get(
    "ALLIED_C2_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@contextlib.contextmanager
def fresh_database(prefix: str) -> Iterator[str]:
    """A new, uniquely named PostgreSQL database on ALLIED_C2_TEST_PG, dropped after;
    skips the test, saying why, when no server answers."""
    admin_url = make_url(PG_ADMIN_URL)
    try:
        admin = create_engine(
            admin_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3}
        )
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        pytest.skip(f"PostgreSQL not reachable at {admin_url.render_as_string()}: {exc}")
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    with fresh_database("allied_c2_test") as url:
        yield url

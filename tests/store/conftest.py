"""Store tests run on SQLite and, when reachable, on PostgreSQL (see tests/conftest.py).

PostgreSQL: one uniquely named database per test session on the server named by
ALLIED_C2_TEST_PG (default postgresql+psycopg://postgres@127.0.0.1:5432/test),
emptied before each test and dropped at the end. Unreachable: those cases skip.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from allied_c2.store.db import create_engine_for, migrate


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database (no tables) on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'data' / 'allied-c2.db'}"
    url: str = request.getfixturevalue("postgres_url")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """A migrated database on each backend."""
    engine = create_engine_for(database_url)
    migrate(engine)
    yield engine
    engine.dispose()

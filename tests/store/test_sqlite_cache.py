"""Every SQLite connection gets the bounded page cache (store/db.py, SQLITE_CACHE_KIB)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from allied_c2.store.db import SQLITE_CACHE_KIB, create_engine_for


def test_sqlite_connections_have_the_bounded_cache(tmp_path: Path) -> None:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'c.db'}")
    try:
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA cache_size")).scalar() == -SQLITE_CACHE_KIB
    finally:
        engine.dispose()

from __future__ import annotations

import contextlib
import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Engine, MetaData, Table, inspect, select, text

from allied_c2.config import Config
from allied_c2.store.db import (
    SCHEMA_HEAD,
    create_engine_for,
    migrate,
    normalise_url,
    open_database,
)
from allied_c2.store.models import Base
from allied_c2.store.types import UtcDateTime

TABLES = {
    "events",
    "principals",
    "certificates",
    "tokens",
    "audit_log",
    "counters",
    "decision_requests",
    "readiness_reports",
}


def test_migrations_from_empty_match_the_models(database_url: str) -> None:
    engine = create_engine_for(database_url)
    try:
        assert not set(inspect(engine).get_table_names()) & TABLES
        migrate(engine)
        assert set(inspect(engine).get_table_names()) >= TABLES
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
            assert context.get_current_revision() == SCHEMA_HEAD
            counters = {n: v for n, v in conn.execute(text("SELECT name, value FROM counters"))}
        assert counters == {"principals.revision": 0, "audit.seq": 0, "federates.revision": 0}
        migrate(engine)  # already at head: a no-op, not an error
    finally:
        engine.dispose()


def test_sqlite_pragmas(tmp_path: Path) -> None:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'new' / 'dir' / 'x.db'}")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 10_000
        assert conn.execute(text("PRAGMA page_size")).scalar() == 16384  # a new database
    engine.dispose()
    assert (tmp_path / "new" / "dir" / "x.db").exists()


def test_an_existing_database_keeps_its_page_size(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with contextlib.closing(sqlite3.connect(path)) as old:
        old.execute("PRAGMA page_size=4096")
        old.execute("CREATE TABLE t (x INTEGER)")
        old.commit()
    engine = create_engine_for(f"sqlite:///{path}")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA page_size")).scalar() == 4096
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    engine.dispose()


def test_open_database_creates_the_data_dir(tmp_path: Path) -> None:
    config = Config(data_dir=tmp_path / "var")
    engine = open_database(config)
    try:
        assert (tmp_path / "var" / "allied-c2.db").exists()
        assert set(inspect(engine).get_table_names()) >= TABLES
    finally:
        engine.dispose()


def test_normalise_url() -> None:
    assert normalise_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_url("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_url("sqlite:///x.db") == "sqlite:///x.db"


def test_utc_datetime_round_trips_aware(engine: Engine) -> None:
    table = Table("t_times", MetaData(), Column("at", UtcDateTime, primary_key=True))
    table.create(engine)
    tokyo = timezone(timedelta(hours=9))
    written = datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=tokyo)
    with engine.begin() as conn:
        conn.execute(table.insert().values(at=written))
    with engine.connect() as conn:
        read = conn.execute(select(table.c.at)).scalar_one()
    assert read == written
    assert read.tzinfo is not None and read.utcoffset() == timedelta(0)
    assert read == datetime(2026, 3, 1, 0, 30, 15, 123456, tzinfo=UTC)
    with pytest.raises(Exception, match="naive datetime"), engine.begin() as conn:
        conn.execute(table.insert().values(at=datetime(2026, 3, 1)))


def test_the_schema_head_constant_is_alembics_head() -> None:
    from alembic.config import Config as AlembicConfig
    from alembic.script import ScriptDirectory

    from allied_c2.store.db import SCHEMA_HEAD, _script_location

    with _script_location() as location:
        config = AlembicConfig()
        config.set_main_option("script_location", str(location))
        assert ScriptDirectory.from_config(config).get_current_head() == SCHEMA_HEAD


def test_a_server_can_migrate_in_a_child_process(tmp_path: Path) -> None:
    from allied_c2.store.db import create_engine_for, migrate_out_of_process, schema_is_current

    url = f"sqlite:///{tmp_path / 'child.db'}"
    engine = create_engine_for(url)
    assert not schema_is_current(engine)
    migrate_out_of_process(url)
    assert schema_is_current(engine)
    engine.dispose()


def test_the_newest_events_of_a_window_are_read_through_the_time_index(tmp_path: Path) -> None:
    """/api/v1/events and the replay read ``ORDER BY time DESC, id DESC LIMIT n``: the plan
    walks ix_events_time_id instead of sorting the window (the soak's poll time-outs)."""
    engine = open_database(Config(data_dir=tmp_path))
    events = Base.metadata.tables["events"]
    query = (
        select(events)
        .where(events.c.time >= datetime(2026, 1, 1, tzinfo=UTC))
        .order_by(events.c.time.desc(), events.c.id.desc())
        .limit(100)
    )
    compiled = query.compile(engine, compile_kwargs={"literal_binds": True})
    with engine.connect() as conn:
        plan = " ".join(
            str(row[-1]) for row in conn.execute(text(f"EXPLAIN QUERY PLAN {compiled}"))
        )
    assert "ix_events_time_id" in plan, plan
    assert "TEMP B-TREE" not in plan, plan

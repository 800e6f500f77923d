"""The history writer when the database goes away: buffered, bounded, written back in order.

Unit tests of store/events.py's outage path on a real SQLite database whose insert
is made to fail the way a dropped PostgreSQL connection or a full disk fails
(``OperationalError``). The end-to-end versions are test_database_away.py
(PostgreSQL behind a cut proxy) and test_disk_full.py (SQLite on a full tmpfs).
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from allied_c2.store.db import create_engine_for, migrate
from allied_c2.store.events import RECORD_OVERHEAD, EventReader, EventRecord, EventWriter

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def record(i: int) -> EventRecord:
    at = T0 + timedelta(milliseconds=i)
    return EventRecord(
        f"uid-{i}", "a-f-G", "m-g", at, at, at + timedelta(minutes=5), 35.0, 139.0, 0.0,
        None, None, None, "UNCLASSIFIED", None, "ALPHA", at, b"<event uid='%d'/>" % i,
    )  # fmt: skip


class Outage:
    """Makes the writer's batch insert fail like a database that is not there."""

    def __init__(self, writer: EventWriter) -> None:
        self.away = False
        insert = writer._insert
        real = insert.execute

        def execute(connection: object, batch: list[EventRecord]) -> None:
            if self.away:
                raise OperationalError("INSERT", {}, ConnectionRefusedError("database away"))
            real(connection, batch)  # type: ignore[arg-type]

        insert.execute = execute  # type: ignore[method-assign]


@pytest.fixture
def engine(tmp_path: Path):  # type: ignore[no-untyped-def]
    engine = create_engine_for(f"sqlite:///{tmp_path / 'history.db'}")
    migrate(engine)
    yield engine
    engine.dispose()


def wait_until(predicate, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.02)


def test_an_outage_is_buffered_and_written_in_order_when_the_database_is_back(engine) -> None:  # type: ignore[no-untyped-def]
    writer = EventWriter(engine, flush_interval=0.05)
    outage = Outage(writer)
    outage.away = True
    for i in range(300):
        writer.submit(record(i))
    wait_until(lambda: not writer.available)
    assert writer.backlog == 300 and writer.backpressure == 0  # the relay is not paused
    assert writer.buffered_bytes >= 300 * RECORD_OVERHEAD
    outage.away = False
    assert writer.flush(timeout=15.0)
    assert writer.available and writer.dropped == 0 and writer.outages == 1
    rows = EventReader(engine).history(limit=1000)
    assert [r.uid for r in rows] == [f"uid-{i}" for i in range(300)]
    writer.close()


def test_past_the_bound_the_oldest_are_dropped_counted_and_logged(
    engine,  # type: ignore[no-untyped-def]
    caplog: pytest.LogCaptureFixture,
) -> None:
    size = len(record(0).xml) + RECORD_OVERHEAD
    writer = EventWriter(engine, flush_interval=0.05, outage_buffer_bytes=100 * size)
    outage = Outage(writer)
    outage.away = True
    writer.submit(record(0))
    wait_until(lambda: not writer.available)
    with caplog.at_level(logging.ERROR, logger="allied_c2.store.events"):
        for i in range(1, 1000):
            writer.submit(record(i))
        assert writer.buffered_bytes <= 100 * size
        wait_until(lambda: "oldest events dropped" in caplog.text)
    outage.away = False
    assert writer.flush(timeout=15.0)
    stored = [r.uid for r in EventReader(engine).history(limit=2000)]
    assert writer.dropped == 1000 - len(stored) > 0
    assert stored[-1] == "uid-999" and stored == sorted(stored, key=lambda u: int(u[4:]))
    assert f"({writer.dropped} in total)" in caplog.text or "in total" in caplog.text
    writer.close()


def test_stopping_with_the_database_away_waits_then_says_what_was_lost(
    engine,  # type: ignore[no-untyped-def]
    caplog: pytest.LogCaptureFixture,
) -> None:
    writer = EventWriter(engine, flush_interval=0.05, close_wait=0.5)
    Outage(writer).away = True
    for i in range(50):
        writer.submit(record(i))
    wait_until(lambda: not writer.available)
    started = time.monotonic()
    with caplog.at_level(logging.ERROR, logger="allied_c2.store.events"):
        writer.close(timeout=10.0)
    assert 0.4 <= time.monotonic() - started < 8.0
    assert writer.dropped == 50
    assert "50 events not stored" in caplog.text


def test_a_slow_database_still_pauses_ingest_instead(engine) -> None:  # type: ignore[no-untyped-def]
    writer = EventWriter(engine, flush_interval=30.0)  # healthy, just not flushed yet
    for i in range(10):
        writer.submit(record(i))
    assert writer.available and writer.backpressure == writer.backlog == 10
    writer.close()

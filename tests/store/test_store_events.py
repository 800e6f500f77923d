from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from allied_c2.store.db import create_engine_for, migrate
from allied_c2.store.events import EventReader, EventRecord, EventWriter

T0 = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)


def record(uid: str, at: datetime, *, stale_after: float = 60.0, lat: float = 35.0) -> EventRecord:
    xml = f'<event version="2.0" uid="{uid}" type="a-f-G-U-C" time="{at.isoformat()}"/>'
    return EventRecord(
        uid=uid,
        type="a-f-G-U-C",
        how="m-g",
        time=at,
        start=at,
        stale=at + timedelta(seconds=stale_after),
        lat=lat,
        lon=139.7,
        hae=12.5,
        access="SECRET",
        caveat="REL TO",
        releasable_to="USA JPN",
        banner="SECRET//REL TO USA, JPN",
        originator="JPN",
        sender="ALPHA-1",
        received_at=at + timedelta(milliseconds=3),
        xml=xml.encode(),
    )


def test_many_events_batched_and_flushed(engine: Engine) -> None:
    writer = EventWriter(engine, flush_interval=0.05, max_batch=500)
    try:
        for i in range(5000):
            writer.submit(record(f"uid-{i % 50}", T0 + timedelta(seconds=i)))
        assert writer.flush(timeout=30)
        assert writer.backlog == 0
        assert writer.written == 5000
        assert writer.errors == 0
        assert writer.batches >= 10  # never more than max_batch per transaction
        assert EventReader(engine).count() == 5000
    finally:
        writer.close()


def test_backlog_and_close_loses_nothing(engine: Engine) -> None:
    # A long interval and a large batch: nothing is written until close().
    writer = EventWriter(engine, flush_interval=30, max_batch=10_000)
    for i in range(300):
        writer.submit(record("a", T0 + timedelta(seconds=i)))
    assert writer.backlog == 300
    assert EventReader(engine).count() == 0
    writer.close(timeout=30)
    assert writer.backlog == 0
    assert EventReader(engine).count() == 300
    with pytest.raises(RuntimeError):
        writer.submit(record("a", T0))


def test_full_batch_is_written_without_waiting_for_the_interval(engine: Engine) -> None:
    writer = EventWriter(engine, flush_interval=30, max_batch=100)
    try:
        for i in range(100):
            writer.submit(record("a", T0 + timedelta(seconds=i)))
        reader = EventReader(engine)
        deadline = datetime.now(UTC) + timedelta(seconds=10)
        while reader.count() < 100 and datetime.now(UTC) < deadline:
            threading.Event().wait(0.01)
        assert reader.count() == 100
    finally:
        writer.close()


def test_concurrent_submitters(engine: Engine) -> None:
    writer = EventWriter(engine, flush_interval=0.02, max_batch=300)

    def send(n: int) -> None:
        for i in range(500):
            writer.submit(record(f"t{n}", T0 + timedelta(seconds=i)))

    threads = [threading.Thread(target=send, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    writer.close()
    assert writer.written == 2000
    assert EventReader(engine).count() == 2000


def test_a_bad_event_costs_only_itself(engine: Engine) -> None:
    writer = EventWriter(engine, flush_interval=30, max_batch=1000)
    good = [record("ok", T0 + timedelta(seconds=i)) for i in range(10)]
    naive = replace(record("bad", T0), time=datetime(2026, 5, 1, 12))  # no zone: refused
    for item in good[:5]:
        writer.submit(item)
    writer.submit(naive)
    for item in good[5:]:
        writer.submit(item)
    writer.close()
    assert writer.errors == 1
    assert writer.written == 10
    assert [r.uid for r in EventReader(engine).history(limit=100)] == ["ok"] * 10


def test_round_trip_of_every_field(engine: Engine) -> None:
    original = record("rt", T0.astimezone(UTC) + timedelta(microseconds=250))
    with EventWriter(engine) as writer:
        writer.submit(original)
    (row,) = EventReader(engine).history("rt")
    assert row.id > 0
    assert EventRecord(**{f: getattr(row, f) for f in EventRecord.__dataclass_fields__}) == original
    assert row.time.tzinfo is not None


def test_history_by_uid_time_and_limit(engine: Engine) -> None:
    with EventWriter(engine) as writer:
        for i in range(20):
            writer.submit(record("a", T0 + timedelta(minutes=i)))
            writer.submit(record("b", T0 + timedelta(minutes=i, seconds=30)))
    reader = EventReader(engine)
    a = reader.history("a")
    assert [r.time for r in a] == [T0 + timedelta(minutes=i) for i in range(20)]
    assert {r.uid for r in reader.history(None)} == {"a", "b"}
    window = reader.history("a", since=T0 + timedelta(minutes=5), until=T0 + timedelta(minutes=7))
    assert [r.time for r in window] == [T0 + timedelta(minutes=m) for m in (5, 6, 7)]
    newest = reader.history("a", limit=3)  # the newest three, oldest first
    assert [r.time for r in newest] == [T0 + timedelta(minutes=m) for m in (17, 18, 19)]
    assert reader.history("nobody") == []
    assert reader.history("a", limit=0) == []


def test_latest_per_uid_honours_stale(engine: Engine) -> None:
    now = T0 + timedelta(minutes=10)
    with EventWriter(engine) as writer:
        # fresh: its newest event is still valid at `now`
        writer.submit(record("fresh", T0, stale_after=3600, lat=1.0))
        writer.submit(record("fresh", T0 + timedelta(minutes=9), stale_after=3600, lat=2.0))
        # went-stale: an older event would still be valid, but the newest one is stale
        writer.submit(record("went-stale", T0, stale_after=3600))
        writer.submit(record("went-stale", T0 + timedelta(minutes=1), stale_after=60))
        # old: everything stale
        writer.submit(record("old", T0, stale_after=30))
        # arrives out of order: the newest by event time wins, not the last written
        writer.submit(record("late", T0 + timedelta(minutes=8), stale_after=3600, lat=8.0))
        writer.submit(record("late", T0 + timedelta(minutes=7), stale_after=3600, lat=7.0))
    latest = {r.uid: r for r in EventReader(engine).latest_per_uid(now)}
    assert set(latest) == {"fresh", "late"}
    assert latest["fresh"].lat == 2.0
    assert latest["late"].lat == 8.0
    # Later still, everything has gone stale.
    assert EventReader(engine).latest_per_uid(T0 + timedelta(days=1)) == []


def test_a_transient_failure_is_retried(tmp_path: Path) -> None:
    # SQLite reports a missing table as an OperationalError, like a locked database:
    # a way to make the database fail for a moment and recover.
    engine = create_engine_for(f"sqlite:///{tmp_path / 'x.db'}")
    migrate(engine)
    writer = EventWriter(engine, flush_interval=0.01, max_batch=1000)
    try:
        with engine.begin() as conn:  # the table vanishes: inserts fail as operational errors
            conn.execute(text("ALTER TABLE events RENAME TO events_away"))
        writer.submit(record("r", T0))

        def restore() -> None:
            threading.Event().wait(0.05)
            with engine.begin() as conn:
                conn.execute(text("ALTER TABLE events_away RENAME TO events"))

        fixer = threading.Thread(target=restore)
        fixer.start()
        assert writer.flush(timeout=30)
        fixer.join()
        assert (writer.written, writer.errors) == (1, 0)
        assert [r.uid for r in EventReader(engine).history()] == ["r"]
    finally:
        writer.close()
        engine.dispose()

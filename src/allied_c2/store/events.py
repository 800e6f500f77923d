"""Event history: a batched writer that never blocks the relay, and its reader.

Loss window: ``submit`` only appends to memory; a dedicated thread commits a
batch every ``flush_interval`` seconds or as soon as ``max_batch`` events are
waiting. A hard kill (SIGKILL, power loss) therefore loses at most the events
submitted in the last ``flush_interval`` seconds plus the batch being committed
(with SQLite's ``synchronous=NORMAL``, a power loss may also undo the last
commits). ``close()`` drains everything, so a clean stop loses nothing.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Connection, Dialect, Engine, Row, Table, and_, exists, func, or_, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import aliased

from allied_c2.store.models import Event

log = logging.getLogger(__name__)

_EVENTS = cast(Table, Event.__table__)
_RETRIES = 3
_LOGGED_FAILURES = 5


@dataclass(slots=True)
class EventRecord:
    """One accepted event as stored; all times timezone-aware.

    Not frozen: the relay builds one per event, and a frozen dataclass's
    ``__init__`` costs twice as much. Treat it as read-only all the same.
    """

    uid: str
    type: str
    how: str
    time: datetime
    start: datetime
    stale: datetime
    lat: float
    lon: float
    hae: float
    access: str | None
    caveat: str | None
    releasable_to: str | None
    banner: str
    originator: str | None  # originator's nation (ISO alpha-3)
    sender: str | None  # callsign of the connection it arrived on
    received_at: datetime
    xml: bytes  # canonical XML of the event


@dataclass(slots=True)
class EventRecordRow(EventRecord):
    """A stored event: the record plus its row id (insertion order)."""

    id: int


_FIELDS = tuple(f.name for f in fields(EventRecord))


def _as_row(record: EventRecord) -> dict[str, Any]:
    return {name: getattr(record, name) for name in _FIELDS}


def _from_row(row: Row[Any]) -> EventRecordRow:
    values = row._mapping
    return EventRecordRow(**{name: values[name] for name in _FIELDS}, id=values["id"])


class EventWriter:
    """Appends events to the database from a background thread, in batches."""

    def __init__(
        self,
        engine: Engine,
        *,
        flush_interval: float = 0.25,
        max_batch: int = 2000,
        name: str = "event-writer",
    ) -> None:
        if flush_interval <= 0 or max_batch < 1:
            raise ValueError("flush_interval must be > 0 and max_batch >= 1")
        self._engine = engine
        self._insert = BatchInsert(engine.dialect)
        self._flush_interval = flush_interval
        self._max_batch = max_batch
        self._lock = threading.Lock()
        self._done = threading.Condition(self._lock)
        self._wake = threading.Event()
        self._pending: list[EventRecord] = []
        self._in_flight = 0
        self._submitted = 0
        self._processed = 0  # written or given up on
        self._closing = False
        self.written = 0
        self.batches = 0
        self.errors = 0  # events that could not be stored (logged)
        # Daemon: a process that exits without close() must not hang on this
        # thread; that is the documented hard-kill loss window.
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    @property
    def backlog(self) -> int:
        """Events accepted but not yet committed (for the server's backpressure)."""
        return len(self._pending) + self._in_flight

    def submit(self, record: EventRecord) -> None:
        """Queue one event; returns at once."""
        with self._lock:
            if self._closing:
                raise RuntimeError("EventWriter is closed")
            self._pending.append(record)
            self._submitted += 1
            full = len(self._pending) >= self._max_batch
        if full:
            self._wake.set()

    def flush(self, timeout: float | None = None) -> bool:
        """Block until every event submitted before this call is committed (or failed)."""
        with self._lock:
            target = self._submitted
            self._wake.set()
            return self._done.wait_for(lambda: self._processed >= target, timeout)

    def close(self, timeout: float | None = None) -> None:
        """Stop accepting events, write all that are pending, stop the thread."""
        with self._lock:
            self._closing = True
        self._wake.set()
        self._thread.join(timeout)

    def __enter__(self) -> EventWriter:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _run(self) -> None:
        while True:
            self._wake.wait(self._flush_interval)
            self._wake.clear()
            while True:
                with self._lock:
                    batch = self._pending[: self._max_batch]
                    del self._pending[: self._max_batch]
                    self._in_flight = len(batch)
                    closing = self._closing
                if not batch:
                    break
                self._write(batch)
                with self._lock:
                    self._in_flight = 0
                    self._processed += len(batch)
                    self._done.notify_all()
            if closing:
                return

    def _write(self, batch: list[EventRecord]) -> None:
        for attempt in range(_RETRIES + 1):
            try:
                with self._engine.begin() as connection:
                    self._insert.execute(connection, batch)
                self.written += len(batch)
                self.batches += 1
                return
            except OperationalError as exc:
                # Locked database or dropped connection: likely to pass, try again.
                if attempt == _RETRIES:
                    log.error(
                        "event batch of %d failed %d times: %s",
                        len(batch),
                        attempt + 1,
                        _brief(exc),
                    )
                    break
                time.sleep(min(self._flush_interval, 1.0) * (attempt + 1))
            except Exception as exc:
                log.warning(
                    "event batch of %d failed (%s); storing one by one", len(batch), _brief(exc)
                )
                break
        # One bad row must not cost the whole batch; a dead database costs it anyway.
        failed = 0
        for row in map(_as_row, batch):
            try:
                with self._engine.begin() as connection:
                    connection.execute(_EVENTS.insert(), [row])
                self.written += 1
            except Exception as exc:
                failed += 1
                if failed <= _LOGGED_FAILURES:
                    log.error("event %s not stored: %s", row.get("uid"), _brief(exc))
        if failed > _LOGGED_FAILURES:
            log.error("%d more events of this batch not stored", failed - _LOGGED_FAILURES)
        self.errors += failed
        self.batches += 1


class BatchInsert:
    """The event insert as one DB-API ``executemany`` with rows already in driver form.

    This is the history writer's hot path and it shares a core with the relay:
    SQLAlchemy's per-row parameter and type processing cost about as much as
    SQLite's own work, so the batch is handed to the driver directly. Rows are
    shaped exactly as the ``Event`` model's types would bind them (a test reads
    them back through the model on both backends); single-row retries still go
    through SQLAlchemy.
    """

    # The order rows are built in below; checked against EventRecord so a new
    # field cannot silently land in the wrong column.
    ORDER = (
        "uid",
        "type",
        "how",
        "time",
        "start",
        "stale",
        "lat",
        "lon",
        "hae",
        "access",
        "caveat",
        "releasable_to",
        "banner",
        "originator",
        "sender",
        "received_at",
        "xml",
    )

    def __init__(self, dialect: Dialect) -> None:
        if self.ORDER != _FIELDS:
            raise RuntimeError("BatchInsert.ORDER no longer matches EventRecord's fields")
        names = ", ".join(_FIELDS)
        if dialect.paramstyle == "qmark":
            marks = ", ".join("?" for _ in _FIELDS)
        elif dialect.paramstyle in ("format", "pyformat"):
            marks = ", ".join("%s" for _ in _FIELDS)
        else:
            raise ValueError(f"no batch insert for paramstyle {dialect.paramstyle}")
        self.sql = f"INSERT INTO {_EVENTS.name} ({names}) VALUES ({marks})"
        # SQLite keeps naive UTC text in SQLAlchemy's format; PostgreSQL takes aware times.
        self._naive_text = dialect.name == "sqlite"

    def execute(self, connection: Connection, batch: list[EventRecord]) -> None:
        time_of = _sqlite_times() if self._naive_text else _aware_time
        rows = [
            (
                r.uid,
                r.type,
                r.how,
                time_of(r.time),
                time_of(r.start),
                time_of(r.stale),
                r.lat,
                r.lon,
                r.hae,
                r.access,
                r.caveat,
                r.releasable_to,
                r.banner,
                r.originator,
                r.sender,
                time_of(r.received_at),
                r.xml,
            )
            for r in batch
        ]
        connection.exec_driver_sql(self.sql, rows)


def _sqlite_times() -> Callable[[datetime], str]:
    """A converter to SQLite text that formats each distinct time of a batch once.

    Formatting is most of a row's cost, and a batch repeats times: ``start`` is
    usually ``time``, and an event-loop turn's events share ``received_at``.
    """
    texts: dict[datetime, str] = {}

    def time_of(value: datetime) -> str:
        text = texts.get(value)
        if text is None:
            text = texts[value] = _sqlite_time(value)
        return text

    return time_of


def _sqlite_time(value: datetime) -> str:
    """SQLAlchemy's SQLite DATETIME text (naive UTC), always with microseconds."""
    if value.tzinfo is UTC:  # what the codecs produce: skip the conversion
        return value.isoformat(" ", "microseconds")[:26]
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: pass a timezone-aware time")
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _aware_time(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: pass a timezone-aware time")
    return value


def _brief(exc: Exception) -> str:
    """The driver's one-line reason, without SQLAlchemy's statement and parameters."""
    reason = getattr(exc, "orig", None) or exc
    return f"{type(reason).__name__}: {str(reason).splitlines()[0] if str(reason) else ''}"


class EventReader:
    """Queries over stored events."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def history(
        self,
        uid: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 1000,
    ) -> list[EventRecordRow]:
        """Events by event time, oldest first; when more match, the newest ``limit``."""
        if limit < 1:
            return []
        table = _EVENTS
        query = select(table)
        if uid is not None:
            query = query.where(table.c.uid == uid)
        if since is not None:
            query = query.where(table.c.time >= since)
        if until is not None:
            query = query.where(table.c.time <= until)
        query = query.order_by(table.c.time.desc(), table.c.id.desc()).limit(limit)
        with self._engine.connect() as connection:
            rows = [_from_row(row) for row in connection.execute(query)]
        rows.reverse()
        return rows

    def latest_per_uid(self, not_stale_at: datetime) -> list[EventRecordRow]:
        """The newest event of every uid, if that event is still fresh at ``not_stale_at``.

        Starts from the stale index (few rows are fresh at any moment) and keeps a
        candidate only if no newer event of its uid exists (the (uid, time) index),
        so a uid whose newest event went stale does not resurrect an older one.
        """
        table = _EVENTS
        newer = aliased(table)
        query = (
            select(table)
            .where(table.c.stale > not_stale_at)
            .where(
                ~exists().where(
                    and_(
                        newer.c.uid == table.c.uid,
                        or_(
                            newer.c.time > table.c.time,
                            and_(newer.c.time == table.c.time, newer.c.id > table.c.id),
                        ),
                    )
                )
            )
            .order_by(table.c.time, table.c.id)
        )
        with self._engine.connect() as connection:
            return [_from_row(row) for row in connection.execute(query)]

    def count(self) -> int:
        with self._engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(_EVENTS)).scalar_one())

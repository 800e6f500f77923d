"""Stored events: the record, its batch insert in driver form, and the queries.

The history writer (store/events.py) appends these; the reader serves history,
the picture restore and the federation's resend window.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Connection, Dialect, Engine, Row, Table, and_, exists, func, or_, select
from sqlalchemy.orm import aliased

from allied_c2.store.models import Event

_EVENTS = cast(Table, Event.__table__)


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

    def of_type(
        self,
        cot_type: str,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 1000,
    ) -> list[EventRecordRow]:
        """Events of one type (GeoChat ``b-t-f``…) by event time, oldest first; the newest
        ``limit`` when more match."""
        if limit < 1:
            return []
        table = _EVENTS
        query = select(table).where(table.c.type == cot_type)
        if since is not None:
            query = query.where(table.c.time >= since)
        if until is not None:
            query = query.where(table.c.time <= until)
        query = query.order_by(table.c.time.desc(), table.c.id.desc()).limit(limit)
        with self._engine.connect() as connection:
            rows = [_from_row(row) for row in connection.execute(query)]
        rows.reverse()
        return rows

    def picture_at(self, at: datetime, deletes: str = "t-x-d-d") -> list[EventRecordRow]:
        """The picture's rows as they stood at ``at``, by event time, with its deletes.

        For every uid, its newest event with ``time <= at`` if that event was still
        fresh at ``at`` (``stale > at``): the same rule as :meth:`latest_per_uid`, as
        of a past moment. After them come the ``deletes`` rows (``t-x-d-d``) timed
        from the oldest of those events up to ``at``, for the caller to apply.
        """
        table = _EVENTS
        newer = aliased(table)
        query = (
            select(table)
            .where(table.c.time <= at)
            .where(table.c.stale > at)
            .where(
                ~exists().where(
                    and_(
                        newer.c.uid == table.c.uid,
                        newer.c.time <= at,
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
            rows = [_from_row(row) for row in connection.execute(query)]
            if not rows:
                return rows
            removals = (
                select(table)
                .where(table.c.type == deletes)
                .where(table.c.time >= rows[0].time)
                .where(table.c.time <= at)
                .order_by(table.c.time, table.c.id)
            )
            rows += [_from_row(row) for row in connection.execute(removals)]
        return rows

    def count(self) -> int:
        with self._engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(_EVENTS)).scalar_one())

"""Event history: the batched writer that never blocks the relay (rows and reader: eventrows.py).

Loss window: ``submit`` only appends to memory; a dedicated thread commits a
batch every ``flush_interval`` seconds or as soon as ``max_batch`` events are
waiting. A hard kill (SIGKILL, power loss) therefore loses at most the events
submitted in the last ``flush_interval`` seconds plus the batch being committed
(with SQLite's ``synchronous=NORMAL``, a power loss may also undo the last
commits). ``close()`` drains everything, so a clean stop loses nothing.

The database going away (PostgreSQL stopped or unreachable, a full disk under
SQLite) is an outage, not a loss: the batch goes back to the head of the queue,
the thread retries with backoff, and the relay goes on. While it lasts, the
queue is bounded by ``outage_buffer_bytes``; past that the oldest events are
dropped, counted in :attr:`EventWriter.dropped` and logged with their time
range (docs/reliability.md). When the database answers again the backlog is
written in order.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

# The record types and the reader live in eventrows.py; importing them from here
# keeps working.
from allied_c2.store.eventrows import (
    _EVENTS,
    BatchInsert,
    EventReader,
    EventRecord,
    EventRecordRow,
    _as_row,
    _brief,
    _from_row,
)

__all__ = [
    "RECORD_OVERHEAD",
    "_EVENTS",
    "BatchInsert",
    "EventReader",
    "EventRecord",
    "EventRecordRow",
    "EventWriter",
    "_from_row",
]

log = logging.getLogger(__name__)

_LOGGED_FAILURES = 5
# What one buffered event costs beyond its XML (the record, its strings and times),
# measured with tracemalloc on ATAK-sized PLIs: about 600 bytes.
RECORD_OVERHEAD = 600
# Retry delays while the database is away: quick at first, then every 5 s.
_RETRY_FIRST = 0.5
_RETRY_MAX = 5.0


def _size(record: EventRecord) -> int:
    return len(record.xml) + RECORD_OVERHEAD


class EventWriter:
    """Appends events to the database from a background thread, in batches."""

    def __init__(
        self,
        engine: Engine,
        *,
        flush_interval: float = 0.25,
        max_batch: int = 2000,
        outage_buffer_bytes: int = 64 << 20,
        close_wait: float = 10.0,
        name: str = "event-writer",
    ) -> None:
        if flush_interval <= 0 or max_batch < 1:
            raise ValueError("flush_interval must be > 0 and max_batch >= 1")
        self._engine = engine
        self._insert = BatchInsert(engine.dialect)
        self._flush_interval = flush_interval
        self._max_batch = max_batch
        self._buffer_limit = outage_buffer_bytes
        self._close_wait = close_wait
        self._lock = threading.Lock()
        self._done = threading.Condition(self._lock)
        self._wake = threading.Event()
        self._pending: deque[EventRecord] = deque()
        self._pending_bytes = 0
        self._in_flight = 0
        self._submitted = 0
        self._processed = 0  # written or given up on
        self._closing = False
        self._close_deadline = 0.0
        self._away_since: float | None = None  # monotonic time the database went away
        self._retry_delay = _RETRY_FIRST
        self._dropped_logged = 0
        self._drop_span: tuple[datetime, datetime] | None = None  # received_at of drops
        self.written = 0
        self.batches = 0
        self.errors = 0  # events the database refused (bad rows, logged)
        self.dropped = 0  # events never stored: buffer full while away, or away at shutdown
        self.outages = 0  # times the database went away
        # Daemon: a process that exits without close() must not hang on this
        # thread; that is the documented hard-kill loss window.
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    @property
    def backlog(self) -> int:
        """Events accepted but not yet committed."""
        return len(self._pending) + self._in_flight

    @property
    def backpressure(self) -> int:
        """The backlog the relay should slow down for: none while the database is away.

        A slow database is worth pausing ingest for (nothing is dropped); an absent
        one is not (the relay would stop for nothing): then the bounded buffer holds
        what it can and the live picture goes on.
        """
        return 0 if self._away_since is not None else self.backlog

    @property
    def available(self) -> bool:
        """False while the last write found the database away (until one succeeds)."""
        return self._away_since is None

    @property
    def buffered_bytes(self) -> int:
        return self._pending_bytes

    def submit(self, record: EventRecord) -> None:
        """Queue one event; returns at once."""
        with self._lock:
            if self._closing:
                raise RuntimeError("EventWriter is closed")
            self._pending.append(record)
            self._pending_bytes += len(record.xml) + RECORD_OVERHEAD
            self._submitted += 1
            # While the database is away the thread retries on its own schedule:
            # waking it for every full batch would hammer a dead server.
            away = self._away_since is not None
            full = not away and len(self._pending) >= self._max_batch
            if away and self._pending_bytes > self._buffer_limit:
                self._drop_oldest()
        if full:
            self._wake.set()

    def _drop_oldest(self) -> None:
        """Past the outage bound: drop the oldest tenth (the lock is held).

        The newest events are the ones a restart restores the picture from, so
        they are kept. Logging happens on the writer thread, not here.
        """
        target = self._buffer_limit * 9 // 10
        pending = self._pending
        first = last = None
        count = 0
        while pending and self._pending_bytes > target:
            record = pending.popleft()
            self._pending_bytes -= _size(record)
            last = record.received_at
            first = first or last
            count += 1
        if first is not None and last is not None:
            span = self._drop_span
            self._drop_span = (span[0] if span else first, last)
        self.dropped += count
        self._processed += count
        self._done.notify_all()

    def flush(self, timeout: float | None = None) -> bool:
        """Block until every event submitted before this call is committed (or failed)."""
        with self._lock:
            target = self._submitted
            self._wake.set()
            return self._done.wait_for(lambda: self._processed >= target, timeout)

    def close(self, timeout: float | None = None) -> None:
        """Stop accepting events, write all that are pending, stop the thread.

        With the database away, waits up to ``close_wait`` seconds for it, then
        logs what could not be stored.
        """
        with self._lock:
            self._closing = True
            self._close_deadline = time.monotonic() + self._close_wait
        self._wake.set()
        self._thread.join(timeout)

    def __enter__(self) -> EventWriter:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _run(self) -> None:
        while True:
            away = self._away_since is not None
            self._wake.wait(self._retry_delay if away else self._flush_interval)
            self._wake.clear()
            self._drain()
            self._report_drops()
            with self._lock:
                closing, empty = self._closing, not self._pending
                overdue = time.monotonic() >= self._close_deadline
            if closing and (empty or (self._away_since is not None and overdue)):
                self._abandon()
                return

    def _drain(self) -> None:
        """Write batches until the queue is empty or the database is away."""
        while True:
            with self._lock:
                count = min(len(self._pending), self._max_batch)
                batch = [self._pending.popleft() for _ in range(count)]
                self._pending_bytes -= sum(map(_size, batch))
                self._in_flight = count
            if not batch:
                return
            rest = self._write(batch)
            with self._lock:
                self._in_flight = 0
                self._processed += len(batch) - len(rest)
                if rest:  # the database is away: back to the head of the queue, in order
                    self._pending.extendleft(reversed(rest))
                    self._pending_bytes += sum(map(_size, rest))
                    if self._pending_bytes > self._buffer_limit:
                        self._drop_oldest()
                self._done.notify_all()
            if rest:
                return

    def _write(self, batch: list[EventRecord]) -> list[EventRecord]:
        """Store ``batch``; returns what is left to store later (the database is away)."""
        for attempt in range(2):
            try:
                with self._engine.begin() as connection:
                    self._insert.execute(connection, batch)
            except OperationalError as exc:
                # A locked database passes: one quick retry. Then it is an outage:
                # connection refused or dropped, database stopped, disk full.
                if attempt == 0 and self._away_since is None:
                    time.sleep(min(self._flush_interval, 1.0))
                    continue
                self._went_away(exc, len(batch))
                return batch
            except Exception as exc:
                log.warning(
                    "event batch of %d failed (%s); storing one by one", len(batch), _brief(exc)
                )
                return self._write_each(batch)
            self._came_back()
            self.written += len(batch)
            self.batches += 1
            return []
        return batch  # not reached: the loop returns

    def _write_each(self, batch: list[EventRecord]) -> list[EventRecord]:
        """One bad row must not cost the whole batch."""
        failed = 0
        for index, record in enumerate(batch):
            try:
                with self._engine.begin() as connection:
                    connection.execute(_EVENTS.insert(), [_as_row(record)])
                self.written += 1
            except OperationalError as exc:
                self._went_away(exc, len(batch) - index)
                self.errors += failed
                return batch[index:]
            except Exception as exc:
                failed += 1
                if failed <= _LOGGED_FAILURES:
                    log.error("event %s not stored: %s", record.uid, _brief(exc))
        if failed > _LOGGED_FAILURES:
            log.error("%d more events of this batch not stored", failed - _LOGGED_FAILURES)
        self.errors += failed
        self.batches += 1
        return []

    def _went_away(self, exc: Exception, count: int) -> None:
        if self._away_since is None:
            self._away_since = time.monotonic()
            self._retry_delay = _RETRY_FIRST
            self.outages += 1
            log.error(
                "database unavailable (%s): history is kept in memory (up to %d MiB, oldest "
                "dropped beyond) and written when it is back; the relay goes on",
                _brief(exc),
                self._buffer_limit >> 20,
            )
        else:
            self._retry_delay = min(self._retry_delay * 2, _RETRY_MAX)
            log.warning(
                "database still unavailable after %.0f s (%s); %d events waiting",
                time.monotonic() - self._away_since,
                _brief(exc),
                self.backlog + count,
            )

    def _came_back(self) -> None:
        if self._away_since is None:
            return
        log.warning(
            "database available again after %.1f s: writing the %d buffered events",
            time.monotonic() - self._away_since,
            self.backlog,
        )
        self._away_since = None
        self._retry_delay = _RETRY_FIRST

    def _report_drops(self) -> None:
        """Say what the outage bound cost, at most every few seconds (writer thread)."""
        with self._lock:
            new = self.dropped - self._dropped_logged
            span, self._drop_span = self._drop_span, None
            if not new:
                return
            self._dropped_logged = self.dropped
        when = f" received {span[0].isoformat()} to {span[1].isoformat()}" if span else ""
        log.error(
            "history buffer full (%d MiB) while the database is away: %d oldest events "
            "dropped%s (%d in total)",
            self._buffer_limit >> 20,
            new,
            when,
            self.dropped,
        )

    def _abandon(self) -> None:
        """Shutting down with the database still away: count and log what is left."""
        with self._lock:
            left = list(self._pending)
            self._pending.clear()
            self._pending_bytes = 0
            self.dropped += len(left)
            self._processed += len(left)
            self._done.notify_all()
        if left:
            log.error(
                "stopping with the database unavailable: %d events not stored (received %s to %s)",
                len(left),
                left[0].received_at.isoformat(),
                left[-1].received_at.isoformat(),
            )

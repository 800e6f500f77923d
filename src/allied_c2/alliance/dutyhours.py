"""Office hours in each organisation's own time zone.

A routine request sits unread while its holder's office is closed: Camp Smith
at 03:00 Hawaii time does not start working on a Tokyo request until 08:00.
All instants in and out are timezone-aware; arithmetic is done in UTC so that a
day with a daylight-saving change is as long as it really is (the shipped zones
have no DST, Washington does).
"""

from __future__ import annotations

import threading
from bisect import bisect_right
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from allied_c2.alliance.clock import (
    MICROSECOND,
    from_micros,
    hours_to_micros,
    require_aware,
    to_micros,
)
from allied_c2.alliance.model import DutyHours

ALL_WEEK = (0, 1, 2, 3, 4, 5, 6)


class Office(Protocol):
    """Anything with a time zone and duty hours: an Organisation or a route's snapshot."""

    @property
    def timezone(self) -> str: ...

    @property
    def duty_hours(self) -> DutyHours: ...


@lru_cache(maxsize=256)
def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown IANA time zone {name!r}") from exc


def check_duty_hours(hours: DutyHours) -> None:
    """Raise ValueError for a schedule that can never be open or is malformed."""
    if hours.always:
        return
    if not 0 <= hours.start_hour <= 23:
        raise ValueError(f"duty start_hour must be 0-23, got {hours.start_hour}")
    if not 1 <= hours.end_hour <= 24:
        raise ValueError(f"duty end_hour must be 1-24, got {hours.end_hour}")
    if hours.start_hour == hours.end_hour:
        raise ValueError("duty hours start and end at the same hour (use always: true for 24/7)")
    if not hours.weekdays or any(not 0 <= d <= 6 for d in hours.weekdays):
        raise ValueError(f"duty weekdays must be a non-empty subset of 0-6, got {hours.weekdays}")


_FOREVER = datetime.max.replace(tzinfo=UTC)
_DAY = timedelta(days=1)
_NEVER = 1 << 62  # no table yet: every instant is below it
_TABLE_DAYS = 64  # days of windows added to a table at a time
_MAX_TABLE_DAYS = 4000  # beyond this a table starts afresh (memory stays bounded)
_FAR = _TABLE_DAYS * 86_400_000_000  # a start this far past the table: start afresh


class _Table:
    """The open windows of a run of local days, as sorted epoch microseconds; it
    answers for starts from ``lo`` (two days in: windows() looks back one day)."""

    __slots__ = ("closes", "last_day", "lo", "opens")

    def __init__(self, lo: int, last_day: date) -> None:
        self.lo = lo
        self.opens: list[int] = []
        self.closes: list[int] = []
        self.last_day = last_day  # the day before the first one until filled


_NO_TABLE = _Table(_NEVER, date.min)


class Schedule:
    """One time zone and duty-hours pair, with its office days computed once each.

    For :func:`add_duty_hours` it also keeps a :class:`_Table` of open windows, so
    adding duty hours is a bisect and a few integer additions instead of a walk over
    datetime windows. Readers take the table from one attribute; building and
    extending it happen under a lock, appending opens before closes, so a thread
    reading while another extends always sees whole windows.
    """

    __slots__ = ("continuous", "days", "hours", "lock", "table", "tabular", "tz")

    def __init__(self, tz_name: str, hours: DutyHours) -> None:
        check_duty_hours(hours)
        self.tz = zone(tz_name)
        self.hours = hours
        self.continuous = hours.always or (
            set(hours.weekdays) == set(ALL_WEEK) and (hours.start_hour, hours.end_hour) == (0, 24)
        )
        self.days: dict[date, tuple[datetime, datetime] | None] = {}
        self.table = _NO_TABLE
        self.tabular = True  # False once a time-zone oddity made two windows overlap
        self.lock = threading.Lock()

    def window(self, day: date) -> tuple[datetime, datetime] | None:
        try:
            return self.days[day]
        except KeyError:
            pass
        hours = self.hours
        window = None
        if day.weekday() in hours.weekdays:
            overnight = hours.end_hour < hours.start_hour
            opens = _local(day, hours.start_hour, self.tz)
            closes = _local(day + timedelta(days=1) if overnight else day, hours.end_hour, self.tz)
            window = (opens, closes)
        if len(self.days) > 20_000:  # bound memory for very long simulated periods
            self.days.clear()
        self.days[day] = window
        return window

    def add_micros(self, start: int, hours: int) -> int:
        """:func:`add_duty_hours` on epoch microseconds: the instant at which ``hours``
        µs of open office time have elapsed after ``start`` (the same loop, on integers)."""
        table = self.table
        closes = table.closes
        # Beyond _FAR past the table's end, a new table is quicker than extending it.
        if start < table.lo or start > closes[-1] + _FAR:
            if self.continuous:
                return start + hours
            fresh = self._table_from(start)
            if fresh is None:
                return self._walk(start, hours)
            table, closes = fresh, fresh.closes
        i = bisect_right(closes, start)  # the first window that closes after start
        if i < len(closes):  # most often the work ends inside that first window
            begin = table.opens[i]
            if begin < start:
                begin = start
            if hours <= closes[i] - begin:
                return begin + hours
        return self._add_from(table, i, start, hours)

    def _add_from(self, table: _Table, i: int, start: int, hours: int) -> int:
        opens, closes = table.opens, table.closes
        cursor, remaining = start, hours
        while True:
            if i == len(closes):
                if not self._extend(table, _TABLE_DAYS):
                    return self._walk(start, hours)
                i = bisect_right(closes, cursor)  # start may lie past the old end
                continue
            begin = opens[i] if opens[i] > cursor else cursor
            available = closes[i] - begin
            if remaining <= available:
                return begin + remaining
            remaining -= available
            cursor = closes[i]
            i += 1

    def _walk(self, start: int, hours: int) -> int:
        return to_micros(add_duty_hours_walk(self, from_micros(start), hours * MICROSECOND))

    def _table_from(self, start: int) -> _Table | None:
        """A table from two days before ``start``'s local date (None: no table can
        serve this zone); one that went on to later days keeps them, so a simulation
        going back to its start reuses them."""
        with self.lock:
            if not self.tabular:
                return None
            first = from_micros(start).astimezone(self.tz).date() - 2 * _DAY
            last = self.table.last_day
            if not first < last <= first + _MAX_TABLE_DAYS * _DAY:
                last = first + _TABLE_DAYS * _DAY
            table = _Table(to_micros(_local(first + 2 * _DAY, 0, self.tz)), first - _DAY)
            if not self._fill(table, (last - first).days + 1):
                return None
            self.table = table
            return table

    def _extend(self, table: _Table, days: int) -> bool:
        with self.lock:
            return self.tabular and self._fill(table, days)

    def _fill(self, table: _Table, days: int) -> bool:
        # With the lock held. Appends opens first: a reader checks against closes.
        opens, closes = table.opens, table.closes
        for _ in range(days):
            table.last_day += _DAY
            window = self.window(table.last_day)
            if window is None:
                continue
            o, c = to_micros(window[0]), to_micros(window[1])
            if o > c or (closes and o < closes[-1]):
                self.tabular = False  # inverted or overlapping: a bisect would mislead
                self.table = _NO_TABLE
                return False
            opens.append(o)
            closes.append(c)
        return True


@lru_cache(maxsize=512)
def _schedule(tz_name: str, hours: DutyHours) -> Schedule:
    return Schedule(tz_name, hours)


def schedule_of(office: Office) -> Schedule:
    """The office's (cached) schedule, for callers that add duty hours in microseconds
    with ``schedule_of(office).add_micros(start_us, hours_us)``."""
    return _schedule(office.timezone, office.duty_hours)


def _local(day: date, hour: int, tz: ZoneInfo) -> datetime:
    # Hour 24 is midnight at the end of ``day``; a time in a DST gap resolves with
    # fold=0, i.e. with the offset in force before the change.
    if hour == 24:
        day, hour = day + timedelta(days=1), 0
    return datetime.combine(day, time(hour), tz).astimezone(UTC)


def windows(office: Office, start: datetime) -> Iterator[tuple[datetime, datetime]]:
    """Open periods (UTC, half-open) that end after ``start``, in order, forever.

    A window whose end hour is earlier than its start hour is a night shift that
    closes the next morning; its weekday is the day it opens.
    """
    return _windows(_schedule(office.timezone, office.duty_hours), start)


def _windows(schedule: Schedule, start: datetime) -> Iterator[tuple[datetime, datetime]]:
    if schedule.continuous:
        yield start, _FOREVER
        return
    day = start.astimezone(schedule.tz).date() - _DAY  # yesterday's night shift may be open
    while True:
        window = schedule.window(day)
        if window is not None and window[1] > start:
            yield window
        day += _DAY


def is_open(office: Office, at: datetime) -> bool:
    at = require_aware(at)
    for opens, _closes in windows(office, at):
        return opens <= at
    return False  # pragma: no cover - windows() never ends


def next_opening(office: Office, at: datetime) -> datetime:
    """``at`` itself when the office is open, else the instant it next opens."""
    at = require_aware(at)
    for opens, _closes in windows(office, at):
        return max(opens, at)
    raise AssertionError("unreachable: windows() never ends")  # pragma: no cover


def add_duty_hours(office: Office, start: datetime, hours: float) -> datetime:
    """The instant at which ``hours`` of open office time have elapsed after ``start``."""
    start = require_aware(start)
    if hours < 0:
        raise ValueError(f"duty hours to add must be >= 0, got {hours}")
    schedule = _schedule(office.timezone, office.duty_hours)
    if schedule.continuous:
        return start + timedelta(hours=hours)
    return from_micros(schedule.add_micros(to_micros(start), hours_to_micros(hours)))


def add_duty_hours_walk(schedule: Schedule, start: datetime, remaining: timedelta) -> datetime:
    """:func:`add_duty_hours` by walking the datetime windows: the definition the
    microsecond tables are tested against, and their fallback."""
    cursor = start
    for opens, closes in _windows(schedule, start):
        begin = max(opens, cursor)
        available = closes - begin
        if remaining <= available:
            return begin + remaining
        remaining -= available
        cursor = closes
    raise AssertionError("unreachable: windows() never ends")  # pragma: no cover


def duty_hours_between(office: Office, start: datetime, end: datetime) -> float:
    """Open office time (hours) inside [start, end)."""
    start, end = require_aware(start), require_aware(end)
    total = timedelta()
    if end <= start:
        return 0.0
    for opens, closes in windows(office, start):
        if opens >= end:
            break
        total += min(closes, end) - max(opens, start)
    return total / timedelta(hours=1)


def local_time(office: Office, at: datetime) -> datetime:
    """``at`` on the office's wall clock, for display."""
    return require_aware(at).astimezone(zone(office.timezone))

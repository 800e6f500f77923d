"""Office hours in each organisation's own time zone.

A routine request sits unread while its holder's office is closed: Camp Smith
at 03:00 Hawaii time does not start working on a Tokyo request until 08:00.
All instants in and out are timezone-aware; arithmetic is done in UTC so that a
day with a daylight-saving change is as long as it really is (the shipped zones
have no DST, Washington does).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from allied_c2.alliance.clock import require_aware
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


class _Schedule:
    """One time zone and duty-hours pair, with its office days computed once each."""

    __slots__ = ("continuous", "days", "hours", "tz")

    def __init__(self, tz_name: str, hours: DutyHours) -> None:
        check_duty_hours(hours)
        self.tz = zone(tz_name)
        self.hours = hours
        self.continuous = hours.always or (
            set(hours.weekdays) == set(ALL_WEEK) and (hours.start_hour, hours.end_hour) == (0, 24)
        )
        self.days: dict[date, tuple[datetime, datetime] | None] = {}

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


@lru_cache(maxsize=512)
def _schedule(tz_name: str, hours: DutyHours) -> _Schedule:
    return _Schedule(tz_name, hours)


def _local(day: date, hour: int, tz: ZoneInfo) -> datetime:
    # Hour 24 is midnight at the end of ``day``; a time in a DST gap resolves with
    # fold=0, i.e. with the offset in force before the change.
    if hour == 24:
        day, hour = day + timedelta(days=1), 0
    return datetime.combine(day, time(hour), tz).astimezone(UTC)


_FOREVER = datetime.max.replace(tzinfo=UTC)
_DAY = timedelta(days=1)


def windows(office: Office, start: datetime) -> Iterator[tuple[datetime, datetime]]:
    """Open periods (UTC, half-open) that end after ``start``, in order, forever.

    A window whose end hour is earlier than its start hour is a night shift that
    closes the next morning; its weekday is the day it opens.
    """
    schedule = _schedule(office.timezone, office.duty_hours)
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
    remaining = timedelta(hours=hours)
    cursor = start
    for opens, closes in windows(office, start):
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

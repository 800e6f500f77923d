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


@lru_cache(maxsize=256)
def _continuous(hours: DutyHours) -> bool:
    check_duty_hours(hours)
    if hours.always:
        return True
    return set(hours.weekdays) == set(ALL_WEEK) and (hours.start_hour, hours.end_hour) == (0, 24)


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
    hours = office.duty_hours
    if _continuous(hours):
        yield start, datetime.max.replace(tzinfo=UTC)
        return
    day = start.astimezone(zone(office.timezone)).date() - timedelta(days=1)
    while True:  # yesterday first: its night shift may still be open
        window = _window(office.timezone, hours, day)
        if window is not None and window[1] > start:
            yield window
        day += timedelta(days=1)


@lru_cache(maxsize=65536)
def _window(tz_name: str, hours: DutyHours, day: date) -> tuple[datetime, datetime] | None:
    # Cached: the simulator asks for the same few weeks of office days many times.
    if day.weekday() not in hours.weekdays:
        return None
    tz = zone(tz_name)
    overnight = hours.end_hour < hours.start_hour
    opens = _local(day, hours.start_hour, tz)
    closes = _local(day + timedelta(days=1) if overnight else day, hours.end_hour, tz)
    return opens, closes


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

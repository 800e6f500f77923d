from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from allied_c2.alliance.dutyhours import (
    add_duty_hours,
    duty_hours_between,
    is_open,
    local_time,
    next_opening,
)
from allied_c2.alliance.model import DutyHours
from allied_c2.alliance.routing import OfficeInfo

HAWAII = OfficeInfo("indopacom", "INDOPACOM", "USA", "Pacific/Honolulu")
TOKYO = OfficeInfo("jjoc", "JJOC", "JPN", "Asia/Tokyo")
MON = datetime(2025, 11, 3, tzinfo=UTC)  # Monday 00:00Z = Mon 09:00 Tokyo = Sun 14:00 Hawaii


def test_tokyo_open_while_hawaii_sleeps_through_its_sunday() -> None:
    assert is_open(TOKYO, MON)
    assert not is_open(HAWAII, MON)
    # Hawaii opens Monday 08:00 local = 18:00Z, i.e. Tuesday 03:00 in Tokyo.
    assert next_opening(HAWAII, MON) == datetime(2025, 11, 3, 18, tzinfo=UTC)
    assert local_time(TOKYO, next_opening(HAWAII, MON)).hour == 3


def test_next_opening_of_an_open_office_is_now() -> None:
    at = MON + timedelta(hours=1)
    assert next_opening(TOKYO, at) == at


def test_add_duty_hours_skips_nights_and_weekends() -> None:
    # Friday 17:00 Tokyo + 4 duty hours = Monday 11:00 Tokyo.
    fri = datetime(2025, 11, 7, 8, tzinfo=UTC)
    assert add_duty_hours(TOKYO, fri, 4) == datetime(2025, 11, 10, 2, tzinfo=UTC)
    # 24 duty hours from Hawaii's Monday opening: Mon 10 + Tue 10 + Wed 4 -> Wed 12:00 HST.
    assert add_duty_hours(HAWAII, MON, 24) == datetime(2025, 11, 5, 22, tzinfo=UTC)
    assert duty_hours_between(HAWAII, MON, datetime(2025, 11, 5, 22, tzinfo=UTC)) == 24


def test_always_open_and_night_shift() -> None:
    watch = OfficeInfo("x", "X", "USA", "Pacific/Honolulu", DutyHours(always=True))
    assert add_duty_hours(watch, MON, 30) == MON + timedelta(hours=30)
    night = OfficeInfo("n", "N", "JPN", "Asia/Tokyo", DutyHours(20, 6, (0, 1, 2, 3, 4)))
    # Monday 09:00 Tokyo: closed until Monday 20:00 Tokyo (11:00Z); 10h shift ends Tue 06:00.
    assert next_opening(night, MON) == datetime(2025, 11, 3, 11, tzinfo=UTC)
    assert is_open(night, datetime(2025, 11, 3, 20, tzinfo=UTC))  # Tue 05:00 Tokyo
    assert add_duty_hours(night, MON, 10) == datetime(2025, 11, 3, 21, tzinfo=UTC)


def test_daylight_saving_day_is_counted_in_real_hours() -> None:
    dc = OfficeInfo("osd", "OSD", "USA", "America/New_York", DutyHours(0, 24, (6,)))
    # Sunday 2 Nov 2025: clocks fall back, so the local day has 25 real hours.
    sunday = datetime(2025, 11, 2, 4, tzinfo=UTC)  # 00:00 EDT
    assert duty_hours_between(dc, sunday, sunday + timedelta(days=2)) == 25
    spring = datetime(2025, 3, 9, 5, tzinfo=UTC)  # Sunday 9 March 00:00 EST
    assert duty_hours_between(dc, spring, spring + timedelta(days=2)) == 23


def test_bad_schedules_and_naive_times_are_rejected() -> None:
    with pytest.raises(ValueError, match="same hour"):
        add_duty_hours(OfficeInfo("a", "A", "JPN", "Asia/Tokyo", DutyHours(8, 8)), MON, 1)
    with pytest.raises(ValueError, match="unknown IANA time zone"):
        is_open(OfficeInfo("a", "A", "JPN", "Asia/Edo"), MON)
    with pytest.raises(ValueError, match="timezone-aware"):
        is_open(TOKYO, datetime(2025, 11, 3))

"""The integer arithmetic the simulator (and add_duty_hours) now use equals the
datetime arithmetic it replaced, to the microsecond.

* ``add_duty_hours`` answers from per-schedule tables of epoch microseconds; the
  definition is the walk over datetime windows (``add_duty_hours_walk``).
* ``hours_to_micros`` is ``timedelta(hours=h)``; ``engine._times_hour`` is
  ``timedelta(hours=1) * x``: two different roundings, both reproduced.
"""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime, timedelta

from allied_c2.alliance import dutyhours
from allied_c2.alliance.clock import MICROSECOND, from_micros, hours_to_micros, to_micros
from allied_c2.alliance.model import DutyHours
from allied_c2.alliance.routing import OfficeInfo
from allied_c2.analysis.engine import _times_hour

ZONES = [
    "Asia/Tokyo",
    "Pacific/Honolulu",
    "America/New_York",  # DST
    "Europe/London",  # DST
    "Asia/Manila",
    "Australia/Lord_Howe",  # half-hour DST
    "America/Havana",  # DST at midnight
    "Asia/Kathmandu",  # +05:45
    "America/Santiago",  # southern DST
    "UTC",
]


def _office(rng: random.Random) -> OfficeInfo:
    start = rng.randrange(0, 24)
    end = rng.randrange(1, 25)
    if start == end:
        end = end % 24 + 1
    weekdays = tuple(sorted(rng.sample(range(7), rng.randrange(1, 8))))
    hours = DutyHours(start_hour=start, end_hour=end, weekdays=weekdays, always=rng.random() < 0.05)
    return OfficeInfo("x", "x", "USA", rng.choice(ZONES), hours)


def test_add_duty_hours_equals_the_walk_over_windows() -> None:
    rng = random.Random(3)
    offices = [_office(rng) for _ in range(150)]  # shared tables, as in a long run
    origin = datetime(2020, 1, 1, tzinfo=UTC)
    for _ in range(15_000):
        office = rng.choice(offices)
        start = origin + timedelta(seconds=rng.uniform(0, 3e8))  # back and forth in time
        if rng.random() < 0.3:
            start = start.replace(minute=0, second=0, microsecond=0)  # on a boundary
        hours = rng.choice([rng.uniform(0, 100), rng.lognormvariate(1, 1), 0.0, 1 / 60, 24.0])
        got = dutyhours.add_duty_hours(office, start, hours)
        schedule = dutyhours.schedule_of(office)
        want = (
            start + timedelta(hours=hours)
            if schedule.continuous
            else dutyhours.add_duty_hours_walk(schedule, start, timedelta(hours=hours))
        )
        assert got == want, (office, start, hours)
        assert got.tzinfo is UTC


def test_a_simulation_walking_forward_from_a_fixed_start() -> None:
    """Starts that move forward for months and then go back to the beginning."""
    rng = random.Random(8)
    office = OfficeInfo("x", "x", "USA", "America/New_York", DutyHours(8, 18))
    schedule = dutyhours.schedule_of(office)
    for _ in range(3):
        t = datetime(2025, 11, 3, tzinfo=UTC)
        for _ in range(3_000):
            t += timedelta(hours=rng.expovariate(1 / 3))
            hours = rng.lognormvariate(1, 0.8)
            want = dutyhours.add_duty_hours_walk(schedule, t, timedelta(hours=hours))
            assert dutyhours.add_duty_hours(office, t, hours) == want


def test_microsecond_conversions_round_as_timedelta_does() -> None:
    rng = random.Random(5)
    values = [rng.lognormvariate(0, 2) for _ in range(100_000)]
    values += [rng.random() * 200 for _ in range(50_000)]
    # products within a hair of half a microsecond, where the roundings differ
    values += [(round(v * 7.2e9) + 1) / 7.2e9 for v in values[:50_000]]
    values += [0.0, 1 / 60, 2000.5, 1e7 + 1 / 3]
    hour = timedelta(hours=1)
    for v in values:
        assert hours_to_micros(v) == timedelta(hours=v) // MICROSECOND, v
        assert _times_hour(v) == (hour * v) // MICROSECOND, v


def test_epoch_microseconds_round_trip() -> None:
    at = datetime(2025, 11, 3, 8, 30, 0, 123456, tzinfo=UTC)
    assert from_micros(to_micros(at)) == at
    assert to_micros(datetime(1970, 1, 1, tzinfo=UTC)) == 0


def test_threads_sharing_a_schedule_get_the_walk_s_answers() -> None:
    """Tables are rebuilt and extended while other threads read them."""
    office = OfficeInfo("x", "x", "USA", "Asia/Tokyo", DutyHours(9, 17, (0, 1, 2, 3, 4)))
    schedule = dutyhours.schedule_of(office)
    origin = datetime(2024, 1, 1, tzinfo=UTC)
    wrong: list[tuple[datetime, float]] = []

    def work(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(1_500):
            start = origin + timedelta(days=rng.uniform(0, 900))  # rebuilds and extensions
            hours = rng.uniform(0, 300)
            want = dutyhours.add_duty_hours_walk(schedule, start, timedelta(hours=hours))
            if dutyhours.add_duty_hours(office, start, hours) != want:
                wrong.append((start, hours))

    threads = [threading.Thread(target=work, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not wrong

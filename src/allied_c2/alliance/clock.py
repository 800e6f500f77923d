"""Time as an injected dependency, so the lifecycle and the simulator share one rule set.

The request lifecycle never reads the system clock itself: the server hands it a
:class:`UTCClock`, tests and the what-if simulator a :class:`ManualClock` that
only moves when told to.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware (UTC)."""
        ...


class UTCClock:
    """The real wall clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


def require_aware(at: datetime, what: str = "time") -> datetime:
    """Reject naive datetimes: a naive 03:00 is ambiguous across five time zones."""
    if at.tzinfo is UTC:
        return at  # the hot path: everything inside the machine is already UTC
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware (got naive {at.isoformat()})")
    return at.astimezone(UTC)


# Integer microseconds since the Unix epoch: the duty-hours tables and the simulator's
# fast path do their arithmetic on these (exactly what datetime and timedelta do, since
# both count whole microseconds) and convert back only at the edges.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
_US_PER_HOUR = 3_600_000_000.0


def to_micros(at: datetime) -> int:
    """``at`` (timezone-aware) as microseconds since the epoch."""
    return (at - EPOCH) // MICROSECOND


def from_micros(us: int) -> datetime:
    """The UTC instant ``us`` microseconds after the epoch."""
    return EPOCH + timedelta(microseconds=us)


def hours_to_micros(hours: float) -> int:
    """``timedelta(hours=hours)`` in microseconds, without building the timedelta.

    timedelta rounds its fractional microseconds half-to-even after splitting off the
    whole hours. Below 4e12 µs (about 1,100 hours) ``hours * 3.6e9`` is within 0.0003 µs
    of the exact product, so it rounds the same way unless it lies within 0.001 of a
    half microsecond; only then, or for other magnitudes, is the timedelta built.
    """
    product = hours * _US_PER_HOUR
    if 0.0 <= product < 4e12:
        whole = round(product)
        if abs(product - whole) < 0.499:
            return whole
    return timedelta(hours=hours) // MICROSECOND


class ManualClock:
    """A clock that stands still until ``set`` or ``advance`` moves it (never backwards)."""

    __slots__ = ("_now",)

    def __init__(self, start: datetime) -> None:
        self._now = require_aware(start, "clock start")

    def now(self) -> datetime:
        return self._now

    def set(self, at: datetime) -> None:
        at = require_aware(at, "clock time")
        if at < self._now:
            raise ValueError(
                f"clock cannot go backwards: {at.isoformat()} < {self._now.isoformat()}"
            )
        self._now = at

    def advance(self, delta: timedelta | None = None, *, hours: float = 0.0) -> datetime:
        step = (delta or timedelta()) + timedelta(hours=hours)
        if step < timedelta():
            raise ValueError("clock cannot go backwards")
        self._now = self._now + step
        return self._now

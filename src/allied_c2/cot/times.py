"""CoT timestamps: ISO 8601 UTC in XML, milliseconds since the epoch in protobuf."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from allied_c2.cot.errors import CotError

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_MS = 253402300799999  # 9999-12-31T23:59:59.999Z, the last instant datetime can hold


def parse_time(text: str | None, name: str = "time") -> datetime:
    """Parse a CoT time (``2024-05-01T03:04:05Z``, fractional seconds optional).

    A time without an offset is taken as UTC (CoT times are UTC by definition);
    one with an offset is converted. Date-only and other partial forms that
    ``fromisoformat`` would accept are refused: an event needs an instant.
    """
    if text is None:
        raise CotError("bad_time", f"{name} is missing")
    if len(text) < 19 or len(text) > 40 or text[10] not in "Tt ":
        raise CotError("bad_time", f"{name} is not an ISO 8601 date and time: {text[:40]!r}")
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise CotError(
            "bad_time", f"{name} is not an ISO 8601 date and time: {text[:40]!r}"
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    elif value.utcoffset() == timedelta(0):
        value = value if value.tzinfo is UTC else value.replace(tzinfo=UTC)
    else:
        value = value.astimezone(UTC)
    if value < EPOCH:
        # TAK protocol v1 carries unsigned milliseconds since 1970: an earlier time
        # would reach XML clients as sent and protobuf clients as 1970 (found by
        # fuzzing, fuzz/targets.py). No CoT client means such a time.
        raise CotError("bad_time", f"{name} is before 1970: {text[:40]!r}")
    return value


def format_time(value: datetime) -> str:
    """Format as CoT does on the wire: UTC, milliseconds, ``Z``."""
    if value.tzinfo is not None and value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return f"{value:%Y-%m-%dT%H:%M:%S}.{value.microsecond // 1000:03d}Z"


def to_millis(value: datetime) -> int:
    """Milliseconds since the epoch; times before 1970 clamp to 0 (the field is unsigned)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    delta = value - EPOCH
    millis = (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000
    return max(0, millis)


def from_millis(millis: int, name: str = "time") -> datetime:
    if millis > _MAX_MS:
        raise CotError("bad_time", f"{name} is out of range: {millis} ms")
    if millis < 0:  # federation's GeoEvent times are signed; XML refuses them (parse_time)
        raise CotError("bad_time", f"{name} is before 1970: {millis} ms")
    return EPOCH + timedelta(milliseconds=millis)

"""The checks every event passes before the server accepts it.

They apply the same to XML and protobuf input. Clock skew is deliberately not
checked: clients with wrong clocks are common in the field and their
positions are still wanted; staleness handles old data.
"""

from __future__ import annotations

import math
import re
from datetime import datetime

from allied_c2.cot.errors import CotError

MAX_UID_LENGTH = 256
MAX_TYPE_LENGTH = 128
UNKNOWN_VALUE = 9999999.0  # CoT's "not known" for hae, ce and le

# "a-f-G-U-C", "b-t-f", "t-x-c-t", "u-d-f", "b-m-p-s-p-i", "a-.-G": lowercase
# root atom, then dash-separated fields of letters, digits, '_' or '.'.
_TYPE = re.compile(r"[a-z](?:-[A-Za-z0-9_.]+)*")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_uid(uid: str | None) -> str:
    if not uid:
        raise CotError("missing_uid")
    if len(uid) > MAX_UID_LENGTH:
        raise CotError("bad_uid", f"uid longer than {MAX_UID_LENGTH} characters")
    if _CONTROL.search(uid):
        raise CotError("bad_uid", "uid contains control characters")
    return uid


def check_type(cot_type: str | None) -> str:
    if cot_type is None:
        raise CotError("bad_type", "type is missing")
    if cot_type in _KNOWN_TYPES:
        return cot_type
    if not cot_type:
        raise CotError("bad_type", "type is missing")
    if len(cot_type) > MAX_TYPE_LENGTH or _TYPE.fullmatch(cot_type) is None:
        raise CotError("bad_type", f"not a CoT type: {cot_type[:40]!r}")
    if len(_KNOWN_TYPES) < _KNOWN_TYPES_MAX:
        _KNOWN_TYPES.add(cot_type)
    return cot_type


# Types already seen valid: a relay sees a few dozen types, billions of times.
# Bounded so that a client inventing types cannot grow it without limit.
_KNOWN_TYPES: set[str] = set()
_KNOWN_TYPES_MAX = 4096


def check_times(time: datetime, start: datetime, stale: datetime) -> None:
    if stale < start:
        raise CotError("bad_time", "stale is before start")


def _number(text: str | float | None, name: str, default: float | None) -> float:
    if text is None:
        if default is None:
            raise CotError("bad_coordinates", f"{name} is missing")
        return default
    try:
        value = float(text)
    except ValueError:
        raise CotError("bad_coordinates", f"{name} is not a number: {str(text)[:40]!r}") from None
    if not math.isfinite(value):
        raise CotError("bad_coordinates", f"{name} is not finite")
    return value


def check_point(
    lat: str | float | None,
    lon: str | float | None,
    hae: str | float | None = None,
    ce: str | float | None = None,
    le: str | float | None = None,
) -> tuple[float, float, float, float, float]:
    """Validate and convert a point; missing ``hae/ce/le`` mean unknown (9999999)."""
    lat_v = _number(lat, "lat", None)
    lon_v = _number(lon, "lon", None)
    if not -90.0 <= lat_v <= 90.0:
        raise CotError("bad_coordinates", f"lat {lat_v} outside [-90, 90]")
    if not -180.0 <= lon_v <= 180.0:
        raise CotError("bad_coordinates", f"lon {lon_v} outside [-180, 180]")
    hae_v = _number(hae, "hae", UNKNOWN_VALUE)
    ce_v = _number(ce, "ce", UNKNOWN_VALUE)
    le_v = _number(le, "le", UNKNOWN_VALUE)
    return lat_v, lon_v, hae_v, ce_v, le_v

"""The checks every event passes before the server accepts it.

They apply the same to XML and protobuf input, and they follow what real TAK
software sends (docs/cot-conformance.md lists the accepted grammar beside the
refusals). Clock skew is deliberately not checked, and neither is a stale time
before the start: clients with wrong clocks are common in the field, TAK
Server relays such events, and staleness handles old data.
"""

from __future__ import annotations

import math
import re

from allied_c2.cot.errors import CotError

MAX_UID_LENGTH = 256
MAX_TYPE_LENGTH = 128
UNKNOWN_VALUE = 9999999.0  # CoT's "not known" for hae, ce and le

# A type is a token, not an entry in a list: MIL-STD-2525 style "a-f-G-U-C",
# "b-m-p-w-GOTO", "a-.-G" and ATAK's own "overhead_marker" are all in use, and
# new ones appear with every plugin. Dash-separated, non-empty fields of ASCII
# letters, digits, '_' or '.': nothing that could break out of an attribute,
# a log line or a metric label.
_TYPE = re.compile(r"[A-Za-z0-9_.]+(?:-[A-Za-z0-9_.]+)*")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# XML 1.0 §2.2 Char: what an XML document may hold at all (no C0 control but tab, LF,
# CR; no surrogates; not U+FFFE/U+FFFF). Text the server writes into CoT must be in it.
_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def check_xml_text(value: str) -> str:
    """``value`` if XML can carry it, else ValueError naming the first offending character
    (text typed on the web goes into GeoChat remarks and callsigns, never refused by lxml
    halfway through building the event)."""
    bad = _NOT_XML_CHAR.search(value)
    if bad is not None:
        raise ValueError(f"U+{ord(bad.group()):04X} cannot appear in XML text")
    return value


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
    if len(cot_type) > MAX_TYPE_LENGTH:
        raise CotError("bad_type", f"type longer than {MAX_TYPE_LENGTH} characters")
    if _TYPE.fullmatch(cot_type) is None:
        raise CotError("bad_type", f"not a CoT type: {cot_type[:40]!r}")
    if len(_KNOWN_TYPES) < _KNOWN_TYPES_MAX:
        _KNOWN_TYPES.add(cot_type)
    return cot_type


# Types already seen valid: a relay sees a few dozen types, billions of times.
# Bounded so that a client inventing types cannot grow it without limit.
_KNOWN_TYPES: set[str] = set()
_KNOWN_TYPES_MAX = 4096


def _number(text: str | float | None, name: str, unknown: float | None) -> float:
    """``text`` as a finite float; with ``unknown``, absent, empty or NaN gives ``unknown``."""
    if text is None or (text == "" and unknown is not None):
        if unknown is None:
            raise CotError("bad_coordinates", f"{name} is missing")
        return unknown
    try:
        value = float(text)
    except ValueError:
        raise CotError("bad_coordinates", f"{name} is not a number: {str(text)[:40]!r}") from None
    if math.isfinite(value):
        return value
    if unknown is not None and math.isnan(value):
        # ATAK writes ce="nan" le="nan" when it has no fix quality (Java's
        # Double.NaN); it means what 9999999 means. An infinity is an error.
        return unknown
    raise CotError("bad_coordinates", f"{name} is not finite")


def check_point(
    lat: str | float | None,
    lon: str | float | None,
    hae: str | float | None = None,
    ce: str | float | None = None,
    le: str | float | None = None,
) -> tuple[float, float, float, float, float]:
    """Validate and convert a point; missing, empty or NaN ``hae/ce/le`` mean unknown (9999999).

    A position is never guessed: ``lat`` and ``lon`` must be finite numbers in range.
    """
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

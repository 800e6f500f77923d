from __future__ import annotations

import pytest

from allied_c2.cot.errors import REASONS, CotError
from allied_c2.cot.xmlcodec import parse_xml

from .samples import event_xml

REFUSED = [
    ("lat above 90", event_xml(lat="90.0001"), "bad_coordinates"),
    ("lat below -90", event_xml(lat="-91"), "bad_coordinates"),
    ("lon above 180", event_xml(lon="180.5"), "bad_coordinates"),
    ("lon below -180", event_xml(lon="-181"), "bad_coordinates"),
    ("lat NaN", event_xml(lat="NaN"), "bad_coordinates"),
    ("lon inf", event_xml(lon="inf"), "bad_coordinates"),
    ("lat text", event_xml(lat="north"), "bad_coordinates"),
    ("lat empty", event_xml(lat=""), "bad_coordinates"),
    ("ce -inf", event_xml().replace(b'ce="10"', b'ce="-inf"'), "bad_coordinates"),
    ("hae inf", event_xml().replace(b'hae="0"', b'hae="inf"'), "bad_coordinates"),
    ("le text", event_xml().replace(b'le="10"', b'le="unknown"'), "bad_coordinates"),
    ("lon NaN", event_xml(lon="nan"), "bad_coordinates"),
    (
        "no point",
        event_xml().replace(b'<point lat="35.0" lon="139.0" hae="0" ce="10" le="10"/>', b""),
        "missing_point",
    ),
    ("time garbage", event_xml(time="yesterday"), "bad_time"),
    ("date only", event_xml(time="2026-11-26", stale="2026-11-27"), "bad_time"),
    ("hour 24", event_xml(time="2026-11-26T24:00:00Z"), "bad_time"),
    ("month 13", event_xml(time="2026-13-01T00:00:00Z"), "bad_time"),
    ("missing stale", event_xml().replace(b' stale="2026-11-26T07:05:00Z"', b""), "bad_time"),
    ("type empty", event_xml(cot_type=""), "bad_type"),
    ("type with space", event_xml(cot_type="a-f G"), "bad_type"),
    ("type trailing dash", event_xml(cot_type="a-f-"), "bad_type"),
    ("type double dash", event_xml(cot_type="a--f"), "bad_type"),
    ("type injection", event_xml(cot_type="a-f-G&lt;script&gt;"), "bad_type"),
    ("type leading dash", event_xml(cot_type="-a-f"), "bad_type"),
    ("type with colon", event_xml(cot_type="a-f:G"), "bad_type"),
    ("type non-ASCII", event_xml(cot_type="a-f-Ġ"), "bad_type"),
    ("type too long", event_xml(cot_type="a" + "-b" * 64), "bad_type"),
    ("uid empty", event_xml(uid=""), "missing_uid"),
    ("uid missing", event_xml().replace(b' uid="U-1"', b""), "missing_uid"),
    ("uid too long", event_xml(uid="u" * 257), "bad_uid"),
    ("uid newline", event_xml(uid="a&#10;b"), "bad_uid"),
    ("uid tab", event_xml(uid="a&#9;b"), "bad_uid"),
]


@pytest.mark.parametrize(("name", "data", "reason"), REFUSED, ids=[r[0] for r in REFUSED])
def test_refused(name: str, data: bytes, reason: str) -> None:
    with pytest.raises(CotError) as info:
        parse_xml(data)
    assert info.value.reason == reason
    assert reason in REASONS
    assert info.value.message


ACCEPTED = [
    ("PLI", event_xml(cot_type="a-f-G-U-C")),
    ("GeoChat", event_xml(cot_type="b-t-f")),
    ("ping", event_xml(cot_type="t-x-c-t")),
    ("freehand", event_xml(cot_type="u-d-f")),
    ("spot marker", event_xml(cot_type="b-m-p-s-p-i")),
    ("wildcard atom", event_xml(cot_type="a-.-G")),
    ("equipment", event_xml(cot_type="a-h-G-E-V-A-T")),
    ("poles", event_xml(lat="90", lon="-180")),
    ("antipode", event_xml(lat="-90", lon="180")),
    ("no fraction", event_xml(time="2026-11-26T07:00:00Z")),
    ("micro fraction", event_xml(time="2026-11-26T07:00:00.123456Z")),
    ("nano fraction", event_xml(time="2026-11-26T07:00:00.123456789Z")),
    ("stale equals start", event_xml(stale="2026-11-26T07:00:00Z")),
    ("time far in the past (clock skew)", event_xml(time="2001-01-01T00:00:00Z")),
    (
        "time in the future (clock skew)",
        event_xml(time="2031-01-01T00:00:00Z", start="2026-11-26T07:00:00Z"),
    ),
    ("uid of 256", event_xml(uid="u" * 256)),
    ("unicode uid", event_xml(uid="陸自-第1師団-01")),
    ("hae unknown", event_xml().replace(b'hae="0"', b'hae="9999999"')),
    # What real clients send (../shared/interop/cot-corpus has one of each).
    ("ATAK overhead_marker", event_xml(cot_type="overhead_marker")),
    ("upper-case root atom", event_xml(cot_type="A-f-G")),
    ("GOTO waypoint", event_xml(cot_type="b-m-p-w-GOTO")),
    ("type of 128", event_xml(cot_type="a" + "-b" * 63 + "c")),
    ("stale before start (TAK Server relays it)", event_xml(stale="2026-11-26T06:59:59Z")),
]


@pytest.mark.parametrize(("name", "data"), ACCEPTED, ids=[a[0] for a in ACCEPTED])
def test_accepted(name: str, data: bytes) -> None:
    event = parse_xml(data)
    assert event.uid


@pytest.mark.parametrize("text", ["nan", "NaN", "NAN", "-nan", ""])
def test_nan_or_empty_hae_ce_le_mean_unknown(text: str) -> None:
    data = (
        event_xml()
        .replace(b'hae="0"', f'hae="{text}"'.encode())
        .replace(b'ce="10"', f'ce="{text}"'.encode())
        .replace(b'le="10"', f'le="{text}"'.encode())
    )
    event = parse_xml(data)
    assert (event.hae, event.ce, event.le) == (9999999.0, 9999999.0, 9999999.0)

"""The geometry the web COP draws, read from what ATAK and WinTAK actually send."""

from __future__ import annotations

import math

from allied_c2.cot.drawing import shape_of
from allied_c2.cot.xmlcodec import parse_xml
from tests.support.interop import CORPUS, from_event, require


def _shape(name: str) -> dict[str, object]:
    path = require(CORPUS / name)
    shape = shape_of(parse_xml(from_event(path.read_bytes())))
    assert shape is not None, name
    return shape


def _metres(a: list[float], b: list[float]) -> float:
    """Haversine distance (the page's own geometry is spherical too)."""
    p1, p2 = math.radians(a[0]), math.radians(b[0])
    dp, dl = p2 - p1, math.radians(b[1] - a[1])
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(math.sqrt(h))


def test_atak_s_drawings_keep_their_geometry() -> None:
    circle = _shape("atak-dp__u-d-c-c__drawing-circle.xml")
    assert circle["kind"] == "circle" and circle["radii"]
    rectangle = _shape("cotshrink__u-d-r__rectangle-3d-points-height.xml")
    assert rectangle["kind"] == "polygon" and len(rectangle["points"]) == 5  # type: ignore[arg-type]
    freeform = _shape("atak-dp__u-d-f__freeform-shape.xml")
    assert freeform["kind"] in ("line", "polygon")


def test_the_range_and_bearing_circle_is_a_circle() -> None:
    shape = _shape("atak-dp__u-r-b-c-c__range-bearing-circle.xml")
    assert shape["kind"] == "circle"
    assert [round(r, 1) for r in shape["radii"]] == [468.3]  # type: ignore[attr-defined]
    assert shape["stroke"] == "rgba(255, 0, 0, 1.00)"  # strokeColor -65536


def test_bullseyes_with_and_without_range_rings() -> None:
    plain = _shape("atak-dp__u-r-b-bullseye__bullseye.xml")
    assert plain["kind"] == "circle" and plain["radii"] == [328.51]  # hasRangeRings false
    rings = _shape("freetaktest__u-r-b-bullseye__bullseye-wintak-rings.xml")
    assert rings["radii"] == [100.0, 521.03]  # one ring every 100 m, then the bullseye's edge


def test_a_range_and_bearing_line_ends_at_its_range_along_its_bearing() -> None:
    shape = _shape("atak-dp__u-rb-a__range-bearing-line.xml")
    assert shape["kind"] == "line"
    start, end = shape["points"]  # type: ignore[misc]
    assert start == [38.82080657998482, -77.05494586670942]
    assert abs(_metres(start, end) - 886.14) < 0.5
    north, east = end[0] - start[0], (end[1] - start[1]) * math.cos(math.radians(start[0]))
    assert abs(math.degrees(math.atan2(east, north)) - 45.6) < 0.2  # bearing 45.6°

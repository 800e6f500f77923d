"""Markers and drawings as ATAK writes them, their geometry read back, and deletes.

The shapes follow ATAK's own output (shared corpus ``atak-dp__*``, ``cotshrink__u-d-r``):

- a marker is a point event of a 2525 atom type (``a-h-G-U-C-I``…) or a point type
  (``b-m-p-s-m`` spot, ``b-m-p-w`` waypoint…) with ``contact``, ``remarks`` and a
  ``link`` to its creator;
- ``u-d-f`` is a freeform line, one ``<link point="lat,lon"/>`` per vertex; a
  polygon repeats its first vertex at the end;
- ``u-d-r`` is a rectangle, its four corners as ``link point``;
- ``u-d-c-c`` is a circle: ``<shape>`` holds one ``<ellipse major minor angle>``
  per ring (ATAK's DrawingCircle reads the ring count and the smallest radius
  from them), so range rings are the same type with several ellipses;
- a delete is ``t-x-d-d`` with ``<link uid=… relation="none"/>`` and
  ``<__forcedelete/>`` (corpus ``freetaktest__t-x-d-d__delete-link``).

ATAK's range-and-bearing tools are read back too (drawn, not made, by the web):
``u-r-b-c-c`` is a circle written as ``u-d-c-c`` is; ``u-r-b-bullseye`` a circle of
``<bullseye distance>`` metres with ``ringNum`` rings every ``ringDist`` metres
when ``hasRangeRings`` (ATAK's and WinTAK's bullseyes in the corpus); ``u-rb-a`` a
line from the event's point, ``<range value>`` metres along ``<bearing value>``
degrees (the stored values are metres and degrees whatever ``rangeUnits`` and
``bearingUnits`` ask to display; a magnetic ``northRef`` is drawn as true north).

Colours are ATAK's signed 32-bit ARGB integers (``strokeColor value="-1"``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from allied_c2.cot.event import CotEvent
from allied_c2.cot.special import DISCONNECT, SERVER_HOW
from allied_c2.cot.xmltree import Element, new_element, sub_element

FREEFORM = "u-d-f"
RECTANGLE = "u-d-r"
CIRCLE = "u-d-c-c"
SHAPE_TYPES = frozenset({FREEFORM, RECTANGLE, CIRCLE})
FORCE_DELETE = "__forcedelete"
DRAWING_LIFE = timedelta(days=1)  # what ATAK gives a drawing it shares
MAX_POINTS = 500
MAX_RINGS = 10
_FAR = 9999999.0
WHITE = -1
DEFAULT_FILL = -1761607681  # ATAK's translucent white (0x96FFFFFF)


class DrawingError(ValueError):
    """A marker or drawing that cannot be made; the message says why."""


def is_marker_type(cot_type: str) -> bool:
    """A type drawn as a point: a 2525 atom or a point of interest (``b-m-p-…``)."""
    parts = cot_type.split("-")
    if cot_type.startswith("a-") and len(parts) >= 3 and all(parts):
        return True
    return cot_type.startswith("b-m-p-") and all(parts)


@dataclass(frozen=True, slots=True)
class Drawing:
    """What the web asked for, checked: one marker or shape."""

    uid: str
    type: str
    lat: float
    lon: float
    callsign: str
    remarks: str = ""
    points: tuple[tuple[float, float], ...] = ()
    radius: float = 0.0  # metres, circles
    rings: int = 1
    closed: bool = False  # u-d-f: a polygon rather than a line
    stroke: int = WHITE
    creator_uid: str | None = None
    creator_callsign: str | None = None

    def __post_init__(self) -> None:
        _check_point(self.lat, self.lon)
        for lat, lon in self.points:
            _check_point(lat, lon)
        if self.type in (FREEFORM, RECTANGLE):
            need = 2 if self.type == FREEFORM else 4
            if not need <= len(self.points) <= MAX_POINTS:
                raise DrawingError(f"{self.type} needs {need} to {MAX_POINTS} points")
        elif self.type == CIRCLE:
            if not (math.isfinite(self.radius) and 0 < self.radius <= 5_000_000):
                raise DrawingError("a circle needs a radius in metres (0 < radius ≤ 5,000 km)")
            if not 1 <= self.rings <= MAX_RINGS:
                raise DrawingError(f"rings: 1 to {MAX_RINGS}")
        elif not is_marker_type(self.type):
            raise DrawingError(
                f"type {self.type!r}: a 2525 atom (a-…), a point (b-m-p-…), u-d-f, u-d-r or u-d-c-c"
            )


def _check_point(lat: float, lon: float) -> None:
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        raise DrawingError(f"not a position: {lat}, {lon}")


def _colour(detail: Element, tag: str, value: int) -> None:
    sub_element(detail, tag, {"value": str(value)})


def _vertices(drawing: Drawing) -> list[tuple[float, float]]:
    points = list(drawing.points)
    if drawing.type == FREEFORM and drawing.closed and points[0] != points[-1]:
        points.append(points[0])
    return points


def drawing_event(drawing: Drawing, now: datetime, life: timedelta = DRAWING_LIFE) -> CotEvent:
    """The CoT event ATAK would send for ``drawing`` (unmarked: the caller marks it)."""
    detail = new_element("detail")
    lat, lon = drawing.lat, drawing.lon
    if drawing.type in (FREEFORM, RECTANGLE):
        vertices = _vertices(drawing)
        for vlat, vlon in vertices:
            sub_element(detail, "link", {"point": f"{vlat:.7f},{vlon:.7f}"})
        lats, lons = [p[0] for p in vertices], [p[1] for p in vertices]
        lat, lon = (min(lats) + max(lats)) / 2, (min(lons) + max(lons)) / 2
    elif drawing.type == CIRCLE:
        shape = sub_element(detail, "shape", {})
        for ring in range(1, drawing.rings + 1):
            radius = f"{drawing.radius * ring:.2f}"
            sub_element(shape, "ellipse", {"major": radius, "minor": radius, "angle": "360"})
    elif drawing.creator_uid:
        link = {"uid": drawing.creator_uid, "type": "a-f-G-U-C", "relation": "p-p"}
        if drawing.creator_callsign:
            link["parent_callsign"] = drawing.creator_callsign
        sub_element(detail, "link", link)
    if drawing.type.startswith("b-m-p-s-m"):
        path = f"COT_MAPPING_SPOTMAP/b-m-p-s-m/{drawing.stroke}"
        sub_element(detail, "usericon", {"iconsetpath": path})
        sub_element(detail, "color", {"argb": str(drawing.stroke)})
    sub_element(detail, "contact", {"callsign": drawing.callsign})
    sub_element(detail, "remarks", {}).text = drawing.remarks
    if drawing.type in SHAPE_TYPES:
        labels = "true" if drawing.type == CIRCLE else "false"
        sub_element(detail, "labels_on", {"value": labels})
        _colour(detail, "strokeColor", drawing.stroke)
        sub_element(detail, "strokeWeight", {"value": "4.0"})
        if drawing.type != FREEFORM or drawing.closed:
            _colour(detail, "fillColor", DEFAULT_FILL if drawing.stroke == WHITE else 0)
    sub_element(detail, "archive", {})
    return CotEvent.create(
        uid=drawing.uid,
        type=drawing.type,
        how="h-e" if drawing.type in SHAPE_TYPES else "h-g-i-g-o",
        time=now,
        start=now,
        stale=now + life,
        lat=round(lat, 7),
        lon=round(lon, 7),
        hae=_FAR,
        ce=_FAR,
        le=_FAR,
        detail=detail,
    )


def delete_event(uid: str, cot_type: str, now: datetime, notice_uid: str) -> CotEvent:
    """The ``t-x-d-d`` TAK clients act on to remove ``uid`` from their maps."""
    detail = new_element("detail")
    sub_element(detail, "link", {"uid": uid, "relation": "none", "type": cot_type})
    sub_element(detail, FORCE_DELETE, {})
    return CotEvent.create(
        uid=notice_uid,
        type=DISCONNECT,
        how=SERVER_HOW,
        time=now,
        start=now,
        stale=now + timedelta(seconds=20),
        lat=0.0,
        lon=0.0,
        hae=_FAR,
        ce=_FAR,
        le=_FAR,
        detail=detail,
    )


def forced_deletes(event: CotEvent) -> tuple[str, ...]:
    """The uids a ``t-x-d-d`` with ``__forcedelete`` removes (none for other events)."""
    if event.type != DISCONNECT or event.detail is None:
        return ()
    if not any(child.tag == FORCE_DELETE for child in event.detail):
        return ()
    return event.link_uids


def _argb(text: str | None) -> str | None:
    """ATAK's signed ARGB integer as CSS ``rgba()``; None when absent or unreadable."""
    try:
        value = int(text or "") & 0xFFFFFFFF
    except ValueError:
        return None
    alpha = (value >> 24) / 255
    return f"rgba({(value >> 16) & 255}, {(value >> 8) & 255}, {value & 255}, {alpha:.2f})"


def _point(text: str | None) -> list[float] | None:
    parts = (text or "").split(",")
    try:
        lat, lon = float(parts[0]), float(parts[1])
    except (IndexError, ValueError):
        return None
    if math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180:
        return [lat, lon]
    return None


BULLSEYE = "u-r-b-bullseye"
RANGE_BEARING_LINE = "u-rb-a"
_EARTH_M = 6_371_008.8  # mean radius (IUGG), as for the page's circles


def _float(element: Element | None, name: str) -> float | None:
    if element is None:
        return None
    try:
        value = float(element.get(name) or "")
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _destination(lat: float, lon: float, bearing: float, distance: float) -> list[float]:
    """The point ``distance`` metres from (lat, lon) along ``bearing`` (great circle)."""
    d, b = distance / _EARTH_M, math.radians(bearing)
    p1, l1 = math.radians(lat), math.radians(lon)
    p2 = math.asin(math.sin(p1) * math.cos(d) + math.cos(p1) * math.sin(d) * math.cos(b))
    l2 = l1 + math.atan2(
        math.sin(b) * math.sin(d) * math.cos(p1), math.cos(d) - math.sin(p1) * math.sin(p2)
    )
    return [round(math.degrees(p2), 7), round((math.degrees(l2) + 540) % 360 - 180, 7)]


def _range_bearing(event: CotEvent) -> dict[str, Any] | None:
    """A bullseye's rings or a range-and-bearing line (see the module's docstring)."""
    detail = event.detail
    assert detail is not None
    stroke = (
        _argb(detail.find("strokeColor").get("value"))
        if detail.find("strokeColor") is not None
        else None
    )
    if event.type == BULLSEYE:
        bullseye = detail.find("bullseye")
        distance = _float(bullseye, "distance")
        if bullseye is None or distance is None or not 0 < distance <= 5_000_000:
            return None
        radii = [distance]
        step, count = _float(bullseye, "ringDist"), _float(bullseye, "ringNum")
        if bullseye.get("hasRangeRings") == "true" and step and count and step > 0:
            radii += [step * k for k in range(1, min(int(count), MAX_RINGS - 1) + 1)]
        radii = sorted({round(r, 2) for r in radii if 0 < r <= 5_000_000})
        return {"kind": "circle", "points": [], "radii": radii, "stroke": stroke, "fill": None}
    distance = _float(detail.find("range"), "value")
    bearing = _float(detail.find("bearing"), "value")
    if distance is None or bearing is None or not 0 < distance <= 5_000_000:
        return None
    start = [event.lat, event.lon]
    points = [start, _destination(event.lat, event.lon, bearing, distance)]
    return {"kind": "line", "points": points, "radii": [], "stroke": stroke, "fill": None}


def shape_of(event: CotEvent) -> dict[str, Any] | None:
    """The geometry of a drawing for the web COP (``u-d-…``, and ATAK's range-and-bearing
    circle, bullseye and line); None for anything else.

    ``{"kind": "line"|"polygon"|"circle", "points": [[lat, lon]…], "radii": [m…],
    "stroke": css, "fill": css}``: freeform shapes closed on their first vertex,
    and rectangles, are polygons; every ring of a circle is one radius.
    """
    if event.detail is None:
        return None
    if event.type in (BULLSEYE, RANGE_BEARING_LINE):
        return _range_bearing(event)
    if not event.type.startswith(("u-d-", "u-r-b-c-c")):
        return None
    points: list[list[float]] = []
    radii: list[float] = []
    stroke = fill = None
    for child in event.detail:
        tag = child.tag
        if tag == "link" and child.get("point"):
            point = _point(child.get("point"))
            if point is not None and len(points) < MAX_POINTS:
                points.append(point)
        elif tag == "shape":
            for ellipse in child.iter("ellipse"):
                try:
                    radius = float(ellipse.get("major") or "")
                except ValueError:
                    continue
                if math.isfinite(radius) and radius > 0 and len(radii) < MAX_RINGS:
                    radii.append(radius)
        elif tag == "strokeColor":
            stroke = _argb(child.get("value"))
        elif tag == "fillColor":
            fill = _argb(child.get("value"))
    if radii:
        return {
            "kind": "circle",
            "points": [],
            "radii": sorted(radii),
            "stroke": stroke,
            "fill": fill,
        }
    if len(points) < 2:
        return None
    closed = event.type == RECTANGLE or (len(points) > 2 and points[0] == points[-1])
    if event.type == RECTANGLE and points[0] != points[-1]:
        points.append(points[0])
    kind = "polygon" if closed else "line"
    return {"kind": kind, "points": points, "radii": [], "stroke": stroke, "fill": fill}

"""Great-circle movement along waypoints, sans-I/O: distance in, position out.

A :class:`Path` is a list of waypoints joined by great-circle legs. It answers
"where is a mover that has covered ``d`` metres, and which way is it heading",
which is all the simulator needs; time and speed live in the caller.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass, field

EARTH_RADIUS_M = 6_371_008.8  # mean Earth radius (IUGG)
KNOT_MS = 1852.0 / 3600.0
KMH_MS = 1000.0 / 3600.0


@dataclass(frozen=True, slots=True)
class Point:
    lat: float
    lon: float


def distance_m(a: Point, b: Point) -> float:
    """Great-circle distance (haversine), metres."""
    phi1, phi2 = math.radians(a.lat), math.radians(b.lat)
    dphi = phi2 - phi1
    dlmb = math.radians(b.lon - a.lon)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def bearing_deg(a: Point, b: Point) -> float:
    """Initial true bearing from ``a`` to ``b``, degrees in [0, 360)."""
    phi1, phi2 = math.radians(a.lat), math.radians(b.lat)
    dlmb = math.radians(b.lon - a.lon)
    y = math.sin(dlmb) * math.cos(phi2)
    x = math.cos(phi1) * math.sin(phi2) - math.sin(phi1) * math.cos(phi2) * math.cos(dlmb)
    return math.degrees(math.atan2(y, x)) % 360.0


def intermediate(a: Point, b: Point, fraction: float) -> Point:
    """The point ``fraction`` (0-1) of the way from ``a`` to ``b`` on the great circle."""
    delta = distance_m(a, b) / EARTH_RADIUS_M
    if delta < 1e-12:
        return a
    phi1, lmb1 = math.radians(a.lat), math.radians(a.lon)
    phi2, lmb2 = math.radians(b.lat), math.radians(b.lon)
    wa = math.sin((1 - fraction) * delta) / math.sin(delta)
    wb = math.sin(fraction * delta) / math.sin(delta)
    x = wa * math.cos(phi1) * math.cos(lmb1) + wb * math.cos(phi2) * math.cos(lmb2)
    y = wa * math.cos(phi1) * math.sin(lmb1) + wb * math.cos(phi2) * math.sin(lmb2)
    z = wa * math.sin(phi1) + wb * math.sin(phi2)
    lat = math.degrees(math.atan2(z, math.hypot(x, y)))
    lon = (math.degrees(math.atan2(y, x)) + 540.0) % 360.0 - 180.0
    return Point(lat, lon)


@dataclass(frozen=True, slots=True)
class Fix:
    """Where a mover is and which way it points."""

    point: Point
    course: float  # degrees true


@dataclass(frozen=True, slots=True)
class Path:
    waypoints: tuple[Point, ...]
    # Cumulative distance at each waypoint; filled in __post_init__.
    _cumulative: tuple[float, ...] = field(default=(), init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.waypoints:
            raise ValueError("a path needs at least one waypoint")
        total = 0.0
        cumulative = [0.0]
        for a, b in zip(self.waypoints, self.waypoints[1:], strict=False):
            total += distance_m(a, b)
            cumulative.append(total)
        object.__setattr__(self, "_cumulative", tuple(cumulative))

    @property
    def length_m(self) -> float:
        return self._cumulative[-1]

    def fix_at(self, covered_m: float) -> Fix:
        """Position and course after ``covered_m`` metres (clamped to the path's ends)."""
        points = self.waypoints
        if len(points) == 1 or self.length_m == 0.0:
            return Fix(points[0], 0.0)
        covered = min(max(covered_m, 0.0), self.length_m)
        leg = min(bisect_right(self._cumulative, covered) - 1, len(points) - 2)
        while leg > 0 and self._cumulative[leg + 1] == self._cumulative[leg]:
            leg -= 1  # a zero-length leg (repeated waypoint) has no heading
        start, end = points[leg], points[leg + 1]
        span = self._cumulative[leg + 1] - self._cumulative[leg]
        fraction = 0.0 if span == 0.0 else (covered - self._cumulative[leg]) / span
        here = intermediate(start, end, fraction)
        # The course at ``here`` (not at the leg's start): great circles turn.
        course = bearing_deg(here, end) if fraction < 1.0 else bearing_deg(start, end)
        return Fix(here, course)

    def reversed(self) -> Path:
        return Path(tuple(reversed(self.waypoints)))

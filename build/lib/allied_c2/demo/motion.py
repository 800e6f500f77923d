"""How a synthetic track moves: a path, a speed, a pattern, and simulated time.

Sans-I/O: :func:`state_at` maps (track, simulated seconds) to a position,
course, speed and height, so the simulator and the tests agree on where
everything is without sockets or clocks.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from allied_c2.demo.geo import Path, Point

UNKNOWN_HAE = 9999999.0  # CoT's "not known"; TAK clients clamp ground units to terrain
CLIMB_DISTANCE_M = 150_000.0  # aircraft reach cruise height this far from an airfield


class Domain(StrEnum):
    AIR = "air"
    SEA = "sea"
    GROUND = "ground"
    FIXED = "fixed"  # a site that does not move (relief point, evacuation centre)


class Pattern(StrEnum):
    SHUTTLE = "shuttle"  # out along the path, dwell, back, dwell, again
    ORBIT = "orbit"  # round a closed loop without stopping (ISR and patrol orbits)


@dataclass(frozen=True, slots=True)
class Mark:
    """A marking as CoT carries it: ``access``, ``caveat``, ``releasableTo``."""

    access: str
    caveat: str | None = None
    releasable_to: str | None = None

    @property
    def banner(self) -> str:
        if self.caveat == "REL TO" and self.releasable_to:
            return f"{self.access}//REL TO {', '.join(self.releasable_to.split())}"
        return f"{self.access}//{self.caveat}" if self.caveat else self.access


UNCLASSIFIED = Mark("UNCLASSIFIED")
REL_TRILATERAL = Mark("CONFIDENTIAL", "REL TO", "USA JPN PHL")
REL_BILATERAL = Mark("SECRET", "REL TO", "USA JPN")
NOFORN = Mark("SECRET", "NOFORN")


@dataclass(frozen=True, slots=True)
class Track:
    """One synthetic unit, ship or aircraft, and the feed (nation) that reports it."""

    uid: str
    callsign: str
    cot_type: str
    nation: str  # the feed that sends it: USA, JPN or PHL
    mark: Mark
    domain: Domain
    path: Path
    speed_ms: float = 0.0
    pattern: Pattern = Pattern.SHUTTLE
    dwell_s: float = 0.0  # time stopped at each end of a shuttle
    cruise_hae_m: float = 0.0  # aircraft only
    phase: float = 0.0  # where in its cycle the track starts, 0-1
    remarks: str = ""

    @property
    def cycle_s(self) -> float:
        """Simulated seconds for one full cycle of the pattern (0 for a fixed site)."""
        if self.speed_ms <= 0 or self.path.length_m == 0:
            return 0.0
        leg = self.path.length_m / self.speed_ms
        return leg if self.pattern is Pattern.ORBIT else 2 * (leg + self.dwell_s)

    @property
    def update_interval_s(self) -> float:
        """Wall-clock seconds between reports, roughly what real feeds send."""
        return {Domain.AIR: 2.0, Domain.SEA: 5.0, Domain.GROUND: 3.0, Domain.FIXED: 15.0}[
            self.domain
        ]


@dataclass(frozen=True, slots=True)
class TrackState:
    point: Point
    course: float
    speed_ms: float
    hae: float


def state_at(track: Track, sim_seconds: float) -> TrackState:
    """Where ``track`` is after ``sim_seconds`` of simulated time (plus its phase)."""
    cycle = track.cycle_s
    if cycle == 0.0:
        here = track.path.fix_at(0.0)
        return TrackState(here.point, 0.0, 0.0, _resting_hae(track))
    t = (sim_seconds + track.phase * cycle) % cycle
    length = track.path.length_m
    if track.pattern is Pattern.ORBIT:
        covered = t * track.speed_ms
        fix = track.path.fix_at(covered)
        return TrackState(fix.point, fix.course, track.speed_ms, _cruise_hae(track))
    leg = length / track.speed_ms
    if t < leg:  # outbound
        covered = t * track.speed_ms
        fix = track.path.fix_at(covered)
        return TrackState(fix.point, fix.course, track.speed_ms, _hae(track, covered, length))
    t -= leg
    if t < track.dwell_s:  # stopped at the far end
        fix = track.path.fix_at(length)
        return TrackState(fix.point, fix.course, 0.0, _resting_hae(track))
    t -= track.dwell_s
    if t < leg:  # homebound along the same path
        covered = length - t * track.speed_ms
        fix = track.path.fix_at(covered)
        course = (fix.course + 180.0) % 360.0
        return TrackState(fix.point, course, track.speed_ms, _hae(track, covered, length))
    fix = track.path.fix_at(0.0)  # stopped at home
    return TrackState(fix.point, (fix.course + 180.0) % 360.0, 0.0, _resting_hae(track))


def _resting_hae(track: Track) -> float:
    return 0.0 if track.domain in (Domain.AIR, Domain.SEA) else UNKNOWN_HAE


def _cruise_hae(track: Track) -> float:
    return track.cruise_hae_m if track.domain is Domain.AIR else _resting_hae(track)


def _hae(track: Track, covered: float, length: float) -> float:
    """Aircraft climb out and descend over :data:`CLIMB_DISTANCE_M`; others stay put."""
    if track.domain is not Domain.AIR:
        return _resting_hae(track)
    ramp = min(1.0, covered / CLIMB_DISTANCE_M, (length - covered) / CLIMB_DISTANCE_M)
    return round(track.cruise_hae_m * max(ramp, 0.0), 1)

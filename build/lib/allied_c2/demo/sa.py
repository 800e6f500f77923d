"""Position reports for synthetic tracks, as the CoT a TAK client or feed sends.

Sans-I/O: a track and an instant in, a :class:`~allied_c2.cot.CotEvent` out.
Each report carries the track's marking in ``access``/``caveat``/``releasableTo``
so the server's release rules decide who sees it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from allied_c2.cot.event import CotEvent
from allied_c2.cot.xmltree import new_element, sub_element
from allied_c2.demo.motion import Domain, Track, TrackState, state_at

# Several missed updates before a client greys the item out; fixed sites report
# rarely, so theirs is longer.
STALE_UPDATES = 4
MIN_STALE = timedelta(seconds=15)
EXERCISE_OPEX = "e"  # CoT opex: e = exercise (o = operations, s = simulation)


def stale_after(track: Track) -> timedelta:
    return max(MIN_STALE, timedelta(seconds=STALE_UPDATES * track.update_interval_s))


def report(track: Track, state: TrackState, now: datetime) -> CotEvent:
    """The CoT event reporting ``track`` at ``state``, timed ``now``."""
    detail = new_element("detail")
    sub_element(detail, "contact", {"callsign": track.callsign})
    if track.domain is not Domain.FIXED:
        sub_element(
            detail,
            "track",
            {"course": f"{state.course:.1f}", "speed": f"{state.speed_ms:.2f}"},
        )
    if track.remarks:
        remarks = sub_element(detail, "remarks", {})
        remarks.text = track.remarks
    return CotEvent.create(
        uid=track.uid,
        type=track.cot_type,
        how="h-e" if track.domain is Domain.FIXED else "m-g",
        time=now,
        start=now,
        stale=now + stale_after(track),
        lat=round(state.point.lat, 6),
        lon=round(state.point.lon, 6),
        hae=state.hae,
        ce=10.0 if track.domain is not Domain.FIXED else 50.0,
        le=9999999.0,
        access=track.mark.access,
        caveat=track.mark.caveat,
        releasable_to=track.mark.releasable_to,
        opex=EXERCISE_OPEX,
        detail=detail,
    )


def report_at(track: Track, sim_seconds: float, now: datetime) -> CotEvent:
    return report(track, state_at(track, sim_seconds), now)

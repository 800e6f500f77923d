"""A sanitised copy of an event, as a federate's rule makes it (pure).

The copy is a new event; the original is untouched (the local picture keeps it).
Every copy carries ``<__sanitised rule="NAME" by="SERVER"/>`` in its detail, so
whoever receives it can tell that it is not the original and which rule of
which server made it.

Coarsening snaps the point to the centre of a grid cell of ``coarsen_m``
metres on a side (latitude steps of ``coarsen_m`` over the metres in a degree
of the IUGG mean Earth radius, longitude steps widened by 1/cos(latitude) at
the cell's centre), and raises ``ce`` (CoT: circular error, metres) to at
least the largest error that adds: half the cell's diagonal.
"""

from __future__ import annotations

import copy
import math

from allied_c2.cot.event import CotEvent
from allied_c2.cot.xmltree import new_element, sub_element
from allied_c2.federation.rules import Rule
from allied_c2.security.markings import Marking, marking_to_cot

MARKER = "__sanitised"
EARTH_RADIUS_M = 6_371_008.8  # IUGG mean radius R1
METRES_PER_DEGREE = 2 * math.pi * EARTH_RADIUS_M / 360.0  # about 111 195 m


def coarsen(lat: float, lon: float, grid_m: float) -> tuple[float, float]:
    """The centre of the grid cell holding (lat, lon)."""
    step = grid_m / METRES_PER_DEGREE
    cell = math.floor((lat + 90.0) / step)
    centre_lat = min(90.0, -90.0 + (cell + 0.5) * step)
    width = step / max(math.cos(math.radians(centre_lat)), 1e-6)
    if width >= 360.0:
        return centre_lat, 0.0
    column = math.floor((lon + 180.0) / width)
    west = -180.0 + column * width
    # The last column is cut by the antimeridian: its centre is that of the part left.
    centre_lon = (west + min(west + width, 180.0)) / 2
    return round(centre_lat, 7), round(centre_lon, 7)


def coarsened_ce(ce: float, grid_m: float) -> float:
    return max(ce, grid_m * math.sqrt(2) / 2)


def sanitised(event: CotEvent, rule: Rule, marking: Marking, server: str) -> CotEvent:
    """``event`` after ``rule``, marked ``marking``, with the marker element."""
    detail = copy.deepcopy(event.detail) if event.detail is not None else new_element("detail")
    for child in list(detail):
        if child.tag in rule.drop or child.tag == MARKER:
            detail.remove(child)  # a copy never carries another server's marker as its own
    if rule.callsign is not None:
        for child in detail:
            if child.tag == "contact" and child.get("callsign") is not None:
                child.set("callsign", rule.callsign)
            elif child.tag == "uid" and child.get("Droid") is not None:
                child.set("Droid", rule.callsign)
            elif child.tag == "__chat" and child.get("senderCallsign") is not None:
                child.set("senderCallsign", rule.callsign)
    lat, lon, ce = event.lat, event.lon, event.ce
    if rule.coarsen_m is not None:
        lat, lon = coarsen(lat, lon, rule.coarsen_m)
        ce = coarsened_ce(ce, rule.coarsen_m)
    sub_element(detail, MARKER, {"rule": rule.name, "by": server})
    access, caveat, releasable_to = marking_to_cot(marking)
    return CotEvent.create(
        uid=event.uid,
        type=event.type,
        how=event.how,
        time=event.time,
        start=event.start,
        stale=event.stale,
        lat=lat,
        lon=lon,
        hae=event.hae,
        ce=ce,
        le=event.le,
        access=access,
        caveat=caveat,
        releasable_to=releasable_to,
        qos=event.qos,
        opex=event.opex,
        detail=detail,
    )

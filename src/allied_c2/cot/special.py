"""CoT types the server treats specially, and the events the server itself sends.

Classification follows the reference (cot-tak.md): pings are answered and
never routed; TAK protocol control, ``t-x-c-*`` and ``t-b*`` are consumed;
the picture keeps map items (units, markers, drawings, range and bearing,
casevac, emergencies) and nothing transient (chat, control, deletions).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from allied_c2.cot.event import CotEvent
from allied_c2.cot.xmltree import Element, new_element, sub_element

PING = "t-x-c-t"
PONG = "t-x-c-t-r"
DISCONNECT = "t-x-d-d"
SERVER_HOW = "h-g-i-g-o"

_PICTURE_PREFIXES = ("a-", "b-m-p", "u-d-", "u-r-b-", "b-a-o-")  # u-r-b-: range & bearing
_PICTURE_EXACT = frozenset({"u-rb-a", "b-r-f-h-c"})
_CONTROL_PREFIXES = ("t-x-takp", "t-x-c-", "t-b")


def is_ping(event: CotEvent) -> bool:
    return event.type == PING


def is_control(event: CotEvent) -> bool:
    """Consumed by the server, never routed (pings included)."""
    return event.type.startswith(_CONTROL_PREFIXES)


def is_chat(event: CotEvent) -> bool:
    """GeoChat messages and their receipts (``b-t-f``, ``b-t-f-d``, ``b-t-f-r``…)."""
    t = event.type
    return t == "b-t-f" or t.startswith("b-t-f-")


def is_disconnect(event: CotEvent) -> bool:
    return event.type == DISCONNECT


def keeps_in_picture(event: CotEvent) -> bool:
    """Whether the latest event of this uid belongs in the common picture."""
    t = event.type
    return t in _PICTURE_EXACT or t.startswith(_PICTURE_PREFIXES)


def new_detail() -> Element:
    return new_element("detail")


def server_event(
    *,
    uid: str,
    type: str,
    now: datetime,
    stale_after: timedelta = timedelta(seconds=20),
    detail: Element | None = None,
    lat: float = 0.0,
    lon: float = 0.0,
    hae: float = 0.0,
    how: str = SERVER_HOW,
    access: str | None = None,
    caveat: str | None = None,
    releasable_to: str | None = None,
) -> CotEvent:
    """An event originated by the server, timed ``now`` and stale after ``stale_after``."""
    return CotEvent.create(
        uid=uid,
        type=type,
        how=how,
        time=now,
        start=now,
        stale=now + stale_after,
        lat=lat,
        lon=lon,
        hae=hae,
        access=access,
        caveat=caveat,
        releasable_to=releasable_to,
        detail=detail if detail is not None else new_detail(),
    )


def pong(now: datetime, ping: CotEvent | None = None) -> CotEvent:
    """The answer to a ``t-x-c-t`` ping (uid ``takPong``, as the official server sends)."""
    detail = new_detail()
    if ping is not None:
        sub_element(detail, "link", {"uid": ping.uid, "relation": "p-p", "type": ping.type})
    return server_event(uid="takPong", type=PONG, now=now, detail=detail)


def disconnect_notice(
    uid: str,
    callsign: str | None,
    now: datetime,
    *,
    link_type: str = "a-f-G-U-C",
    notice_uid: str | None = None,
) -> CotEvent:
    """``t-x-d-d`` telling the others that the client ``uid`` went away."""
    detail = new_detail()
    link = {"uid": uid, "relation": "p-p", "type": link_type}
    if callsign:
        link["parent_callsign"] = callsign
    sub_element(detail, "link", link)
    return server_event(
        uid=notice_uid or str(uuid.uuid4()), type=DISCONNECT, now=now, detail=detail
    )

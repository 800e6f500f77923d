"""Notices the server sends TAK clients about groups and missions (pure builders).

Shapes follow the official TAK Server (shared reference tak-server-api.md §3,
§5) and the captures in the interop corpus (``freetaktest__t-x-m-*``): type
``t-x-…``, how ``h-g-i-g-o``, point 0,0, stale 20 s after the time, and for
missions a ``<mission type name tool authorUid>`` detail, with
``<MissionChanges><MissionChange>…`` for content changes.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from allied_c2.cot.event import CotEvent
from allied_c2.cot.special import new_detail, server_event
from allied_c2.cot.xmltree import sub_element

GROUPS_CHANGED = "t-x-g-c"  # "your groups changed": the client fetches groups/all again
MISSION_CREATED = "t-x-m-n"
MISSION_DELETED = "t-x-m-d"
MISSION_CHANGED = "t-x-m-c"


def groups_changed(now: datetime) -> CotEvent:
    """``t-x-g-c``: sent after a membership change, never in answer to a read
    (a client that re-reads on it and gets it again would loop; CloudTAK #1384)."""
    return server_event(uid=str(uuid.uuid4()), type=GROUPS_CHANGED, now=now, detail=new_detail())


def _iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def mission_notice(
    kind: str, name: str, author_uid: str, now: datetime, *, tool: str = "public"
) -> CotEvent:
    """``t-x-m-n`` (CREATE) or ``t-x-m-d`` (DELETE) for mission ``name``."""
    mission_type = {MISSION_CREATED: "CREATE", MISSION_DELETED: "DELETE"}[kind]
    detail = new_detail()
    sub_element(
        detail,
        "mission",
        {"type": mission_type, "tool": tool, "name": name, "authorUid": author_uid},
    )
    return server_event(uid=str(uuid.uuid4()), type=kind, now=now, detail=detail)


@dataclass(frozen=True, slots=True)
class MissionChange:
    """One entry of a mission's change log, as the notice and ``…/changes`` carry it."""

    type: str  # ADD_CONTENT or REMOVE_CONTENT
    mission: str
    creator_uid: str
    at: datetime
    content_uid: str | None = None  # a CoT item
    content_hash: str | None = None  # a file
    details: dict[str, str] | None = None  # the item's type, callsign, lat, lon


def mission_changed(
    name: str, author_uid: str, changes: Iterable[MissionChange], now: datetime
) -> CotEvent:
    """``t-x-m-c``: content added to or removed from mission ``name``."""
    detail = new_detail()
    mission = sub_element(
        detail,
        "mission",
        {"type": "CHANGE", "tool": "public", "name": name, "authorUid": author_uid},
    )
    listed = sub_element(mission, "MissionChanges", {})
    for change in changes:
        entry = sub_element(listed, "MissionChange", {})
        if change.content_uid is not None:
            sub_element(entry, "contentUid", {}).text = change.content_uid
        if change.content_hash is not None:
            sub_element(entry, "contentHash", {}).text = change.content_hash
        sub_element(entry, "creatorUid", {}).text = change.creator_uid
        sub_element(entry, "isFederatedChange", {}).text = "false"
        sub_element(entry, "missionName", {}).text = change.mission
        sub_element(entry, "timestamp", {}).text = _iso(change.at)
        sub_element(entry, "type", {}).text = change.type
        if change.details:
            info = dict(change.details)
            lat, lon = info.pop("lat", None), info.pop("lon", None)
            details = sub_element(entry, "details", info)
            if lat is not None and lon is not None:
                sub_element(details, "location", {"lat": lat, "lon": lon})
    return server_event(uid=str(uuid.uuid4()), type=MISSION_CHANGED, now=now, detail=detail)

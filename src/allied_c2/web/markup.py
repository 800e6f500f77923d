"""Marking up the map from the web: ``POST /api/v1/items`` and ``DELETE /api/v1/items/{uid}``.

A marker or drawing made on the page is the CoT ATAK itself produces for it
(cot/drawing.py), ingested as the signed-in principal (web/originate.py), so TAK
clients draw it as their own and the server's rules apply unchanged. Editing
(``uid`` in the body) and deleting need two things of the caller: it must see
the item (``Hub.sees``: an item it cannot see is "not found"), and it must be
allowed to originate at the item's marking (the send rule), because an edit is
a new report of that item at that marking.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field

from allied_c2.cot.drawing import (
    CIRCLE,
    FREEFORM,
    Drawing,
    DrawingError,
    delete_event,
    drawing_event,
)
from allied_c2.security.decision import may_send
from allied_c2.security.principals import Principal
from allied_c2.server.picture import PictureEntry
from allied_c2.web.auth import CurrentPrincipal, runtime_of
from allied_c2.web.items import item_json
from allied_c2.web.originate import (
    chosen_marking,
    marked,
    require_identified,
    send,
    web_uid,
)
from allied_c2.web.xmltext import XmlText

router = APIRouter(prefix="/api/v1")
Point = tuple[float, float]


class ItemBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str = Field(min_length=3, max_length=64)
    lat: float | None = None
    lon: float | None = None
    points: list[Point] | None = Field(None, max_length=500)
    callsign: XmlText = Field("", max_length=200)  # both go into the item's XML
    remarks: XmlText = Field("", max_length=4096)
    marking: str | None = Field(None, max_length=2000)
    radius: float | None = None  # metres (u-d-c-c)
    rings: int = Field(1, ge=1, le=10)  # range rings: u-d-c-c with one ellipse per ring
    closed: bool | None = None  # u-d-f: polygon (default: closed when first == last)
    uid: str | None = Field(None, max_length=200)  # edit this item instead of creating one


def _visible(request: Request, principal: Principal, uid: str) -> PictureEntry:
    hub = runtime_of(request).hub
    entry = hub.picture.get(uid)
    if entry is None or entry.event.stale <= datetime.now(UTC) or not hub.sees(entry, principal):
        raise HTTPException(404, f"no item {uid!r} you may see")
    return entry


def _may_edit(request: Request, principal: Principal, entry: PictureEntry) -> None:
    policy = runtime_of(request).policy
    marking = entry.marking.with_originator(principal.nation)
    decision = may_send(marking, principal, policy)
    if not decision.allowed:
        raise HTTPException(
            403,
            f"only users allowed to originate {entry.marking.banner()} may change this item: "
            f"{decision.reason}",
        )


def _drawing(body: ItemBody, uid: str, principal: Principal) -> Drawing:
    points = tuple((float(lat), float(lon)) for lat, lon in body.points or ())
    lat, lon = body.lat, body.lon
    if (lat is None or lon is None) and points:
        lat, lon = points[0]
    if lat is None or lon is None:
        raise HTTPException(422, "lat and lon (or points) are required")
    closed = body.closed if body.closed is not None else len(points) > 2 and points[0] == points[-1]
    try:
        return Drawing(
            uid=uid,
            type=body.type,
            lat=lat,
            lon=lon,
            callsign=body.callsign.strip() or body.type,
            remarks=body.remarks,
            points=points,
            radius=body.radius or 0.0,
            rings=body.rings,
            closed=closed and body.type == FREEFORM,
            creator_uid=web_uid(principal) if body.type not in (FREEFORM, CIRCLE) else None,
            creator_callsign=principal.callsign,
        )
    except DrawingError as exc:
        raise HTTPException(422, str(exc)) from None


@router.post("/items", status_code=201)
async def post_item(
    body: ItemBody, request: Request, principal: CurrentPrincipal
) -> dict[str, Any]:
    """Create (or, with ``uid``, replace) a marker or drawing; answers its uid and item."""
    require_identified(principal, "mark up the map")
    runtime = runtime_of(request)
    if body.uid is not None:
        _may_edit(request, principal, _visible(request, principal, body.uid))
    marking = chosen_marking(runtime, principal, body.marking)
    uid = body.uid or str(uuid.uuid4())
    now = datetime.now(UTC)
    event = marked(drawing_event(_drawing(body, uid, principal), now), marking)
    send(runtime, principal, event, now)
    return {"uid": uid, "item": item_json(event, marking.with_originator(principal.nation))}


@router.delete("/items/{uid}")
async def delete_item(uid: str, request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    """Send the delete TAK clients expect; the server's picture drops the item too."""
    require_identified(principal, "delete items")
    runtime = runtime_of(request)
    entry = _visible(request, principal, uid)
    _may_edit(request, principal, entry)
    now = datetime.now(UTC)
    # Marked as the item: the notice reaches exactly the readers who saw the item.
    notice = marked(delete_event(uid, entry.event.type, now, str(uuid.uuid4())), entry.marking)
    send(runtime, principal, notice, now)
    return {"uid": uid, "deleted": True}

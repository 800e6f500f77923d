"""Replay over HTTP: the picture at a past moment, and a window exported as KML or CSV.

``GET /api/v1/picture?at=ISO8601`` (api.py hands ``at`` here) rebuilds the picture
from history (server/replay.py); ``GET /api/v1/export?format=kml|csv&since=&until=``
writes the position reports of a window. Both read stored rows through the one
audience decision for the caller, exactly like ``GET /api/v1/events``.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response

from allied_c2.security.principals import Principal
from allied_c2.server.history_views import visible_history
from allied_c2.server.replay import picture_at
from allied_c2.web.auth import CurrentPrincipal, runtime_of
from allied_c2.web.items import banner_of, item_json
from allied_c2.web.structure import BANNER_HEADER
from allied_c2.web.trackfiles import csv_text, kml

if TYPE_CHECKING:
    from allied_c2.app import Runtime

router = APIRouter(prefix="/api/v1")
MAX_WINDOW = timedelta(days=7)
MAX_ROWS = 50_000


def parse_time(value: str, name: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise HTTPException(422, f"{name}: not an ISO 8601 time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


async def picture_as_of(runtime: Runtime, principal: Principal, at: datetime) -> dict[str, Any]:
    """``{"at", "banner", "items"}``: what the caller could have seen at ``at``."""
    reader = runtime.hub.reader_for(principal)  # read on the loop, beside the relay
    rows = await asyncio.to_thread(runtime.reader.picture_at, at)
    shown = await asyncio.to_thread(
        picture_at, runtime.hub, rows, reader, runtime.config.max_event_bytes
    )
    return {
        "at": at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "banner": banner_of([marking for _, marking in shown], runtime.policy),
        "items": [item_json(event, marking) for event, marking in shown],
    }


@router.get("/export", response_model=None)
async def export(
    request: Request,
    principal: CurrentPrincipal,
    since: str,
    until: str,
    format: str = Query("kml", pattern="^(kml|csv)$"),
    uid: str | None = None,
) -> Response:
    """The caller's position reports between ``since`` and ``until`` as KML tracks or CSV."""
    runtime = runtime_of(request)
    start, end = parse_time(since, "since"), parse_time(until, "until")
    if not start <= end <= start + MAX_WINDOW:
        raise HTTPException(422, "since must come before until, at most 7 days apart")
    reader = runtime.hub.reader_for(principal)
    rows = await asyncio.to_thread(runtime.reader.history, uid, start, end, MAX_ROWS)
    shown = await asyncio.to_thread(
        visible_history, runtime.hub, rows, reader, runtime.config.max_event_bytes
    )
    banner = banner_of([marking for _, marking in shown], runtime.policy)
    stamp = f"{start:%Y%m%dT%H%M%SZ}-{end:%Y%m%dT%H%M%SZ}"
    headers = {
        BANNER_HEADER: banner,
        "Content-Disposition": f'attachment; filename="allied-c2-{stamp}.{format}"',
    }
    if format == "csv":
        return Response(csv_text(shown, banner), media_type="text/csv", headers=headers)
    body = kml(shown, banner, f"allied-c2 replay {stamp}")
    return Response(body, media_type="application/vnd.google-earth.kml+xml", headers=headers)

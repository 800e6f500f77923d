"""The rest of what TAK clients call on connect (issue 12), and a 404 naming anything else.

- ``GET /Marti/api/device/profile/connection`` (and ``…/tool/{tool}``): 204, no
  device profile to push (TS ``ProfileAPI`` answers 204 when none applies).
- ``GET/POST /Marti/vcm`` (ATAK ``GetVideoListOperation``; XML
  ``<videoConnections><feed>``) and ``GET /Marti/api/video`` (TS
  ``VideoConnectionManagerV2``: ``videoConnections[{uuid, alias, feeds[{uuid,
  url}]}]``): stored feed entries, each marked and shown through the audience.
- ``GET /Marti/api/contacts/all`` (OTS): the release-filtered contact list.
- Anything else under ``/Marti``: 404, with a log line naming the path, so an
  administrator sees what clients ask for.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse, Response

from allied_c2.cot.addressing import PUBLIC
from allied_c2.cot.xmltree import parse
from allied_c2.security.audience import Origin, is_identified
from allied_c2.security.markings import marking_from_cot, marking_to_cot
from allied_c2.security.principals import Principal
from allied_c2.server.peers import Refusal
from allied_c2.store.video import VideoFeed, VideoStore
from allied_c2.web.auth import CurrentPrincipal, runtime_of
from allied_c2.web.marti import client_end_points

log = logging.getLogger("allied_c2.web")

router = APIRouter(include_in_schema=False)
fallback = APIRouter(include_in_schema=False)  # included last: see web/tak.py

MAX_FEEDS = 100
_UID = re.compile(r"^[A-Za-z0-9_.:\-]{1,128}$")


@router.get("/Marti/api/device/profile/connection")
@router.get("/Marti/api/device/profile/tool/{tool}")
def device_profile() -> Response:
    return Response(status_code=204)


@router.get("/Marti/api/contacts/all")
async def contacts_all(request: Request, principal: CurrentPrincipal) -> Any:
    listing = await client_end_points(request, principal)
    return listing["data"]


def _store(request: Request) -> VideoStore:
    runtime = runtime_of(request)
    store: VideoStore | None = getattr(runtime, "video", None)
    if store is None:
        raise HTTPException(404, "video feeds are not offered")
    return store


def visible_feeds(request: Request, principal: Principal) -> list[VideoFeed]:
    hub = runtime_of(request).hub
    reader = hub.reader_for(principal)
    shown = []
    for feed in _store(request).all():
        marking = marking_from_cot(
            feed.access, feed.caveat, feed.releasable_to, hub.policy, default=hub.default_marking
        ).with_originator(feed.originator_nation)
        origin = Origin(feed.created_by, None, feed.groups)
        if hub.audience.allows(marking, reader, PUBLIC, origin):
            shown.append(feed)
    return shown


def _feed_xml(feed: VideoFeed) -> str:
    protocol = feed.url.partition("://")[0] or "raw"
    fields = {
        "uid": feed.uid,
        "active": "true",
        "alias": feed.alias,
        "url": feed.url,
        "protocol": protocol,
        "classification": feed.banner,
    }
    inner = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in fields.items())
    return f"<feed>{inner}</feed>"


@router.get("/Marti/vcm")
async def vcm(request: Request, principal: CurrentPrincipal) -> Response:
    feeds = visible_feeds(request, principal)
    body = "<videoConnections>" + "".join(_feed_xml(f) for f in feeds) + "</videoConnections>"
    return Response(body, media_type="application/xml")


@router.get("/Marti/api/video")
async def video(request: Request, principal: CurrentPrincipal) -> JSONResponse:
    feeds = visible_feeds(request, principal)
    connections = [
        {
            "uuid": f.uid,
            "alias": f.alias,
            "classification": f.banner,
            "feeds": [{"uuid": f.uid, "alias": f.alias, "url": f.url}],
        }
        for f in feeds
    ]
    return JSONResponse({"videoConnections": connections})


def _url_of(feed: Any) -> str:
    url = (feed.findtext("url") or "").strip()
    if url:
        return url
    protocol = (feed.findtext("protocol") or "rtsp").strip()
    address = (feed.findtext("address") or "").strip()
    port = (feed.findtext("port") or "").strip()
    path = (feed.findtext("path") or "").strip()
    hostport = f"{address}:{port}" if port and port != "-1" else address
    return f"{protocol}://{hostport}{path}"


@router.post("/Marti/vcm")
async def add_feeds(
    request: Request, principal: CurrentPrincipal, marking: str | None = None
) -> Response:
    """Store the posted feeds (ATAK's "share to server"), marked by the poster's choice."""
    if not is_identified(principal):
        raise HTTPException(403, "only identified users may publish video feeds")
    runtime = runtime_of(request)
    packages = runtime.packages
    assert packages is not None
    try:
        chosen = packages.upload_marking(principal, marking)
    except Refusal as refusal:
        raise HTTPException(
            422 if refusal.reason == "bad_marking" else 403, refusal.detail
        ) from None
    try:
        root = parse(await request.body())
    except Exception:
        raise HTTPException(400, "not a <videoConnections> document") from None
    access, caveat, rel = marking_to_cot(chosen)
    writes = runtime.hub.identities.channels(principal).writes
    store = _store(request)
    feeds = root.findall("feed")[:MAX_FEEDS]
    for feed in feeds:
        uid = (feed.findtext("uid") or "").strip()
        if not _UID.match(uid):
            raise HTTPException(400, f"feed uid {uid[:64]!r}: 1-128 letters, digits, _.:-")
        existing = store.get(uid)
        if (
            existing is not None
            and existing.created_by != principal.callsign
            and not principal.has_role("admin")
        ):
            raise HTTPException(403, f"feed {uid} belongs to {existing.created_by}")
        store.put(
            VideoFeed(
                uid=uid,
                alias=(feed.findtext("alias") or uid).strip()[:200],
                url=_url_of(feed)[:2000],
                banner=chosen.banner(),
                access=access,
                caveat=caveat,
                releasable_to=rel,
                originator_nation=chosen.originator,
                groups=writes,
                created_by=principal.callsign,
                created_at=datetime.now(UTC),
            )
        )
    runtime.audit(principal.callsign, "video.publish", "-", {"feeds": len(feeds)})
    return Response(status_code=200)


@fallback.api_route("/Marti/{path:path}", methods=["GET", "POST", "PUT", "DELETE", "PATCH"])
async def not_served(request: Request, path: str) -> Response:
    log.info("Marti call not served: %s /Marti/%s", request.method, path[:200])
    return JSONResponse({"detail": f"/Marti/{path[:200]} is not served"}, status_code=404)

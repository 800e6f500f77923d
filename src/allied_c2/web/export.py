"""The picture as KML and GeoJSON (issue 12), release-filtered and marked.

``GET /api/v1/picture.kml`` and ``/api/v1/picture.geojson`` export what
``Hub.releasable_picture`` shows the caller (release, addressing and groups),
one point per item, each with its portion marking; the document carries the
roll-up banner (KML: the Document's name and description; GeoJSON: a
top-level ``banner`` member, which RFC 7946 §6.1 allows as a foreign member).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from xml.sax.saxutils import escape

from fastapi import APIRouter, Request
from fastapi.responses import Response

from allied_c2.security.display import marking_json
from allied_c2.security.principals import Principal
from allied_c2.server.picture import PictureEntry
from allied_c2.web.auth import CurrentPrincipal, runtime_of
from allied_c2.web.items import banner_of

router = APIRouter(prefix="/api/v1")


def _entries(request: Request, principal: Principal) -> tuple[list[PictureEntry], str]:
    runtime = runtime_of(request)
    entries = runtime.hub.releasable_picture(principal, datetime.now(UTC))
    return entries, banner_of([e.marking for e in entries], runtime.policy)


@router.get("/picture.geojson")
async def picture_geojson(request: Request, principal: CurrentPrincipal) -> Response:
    entries, banner = _entries(request, principal)
    features = [
        {
            "type": "Feature",
            "id": e.event.uid,
            "geometry": {"type": "Point", "coordinates": [e.event.lon, e.event.lat]},
            "properties": {
                "uid": e.event.uid,
                "type": e.event.type,
                "callsign": e.event.callsign,
                "time": e.event.time.isoformat(),
                "stale": e.event.stale.isoformat(),
                "marking": marking_json(e.marking),
            },
        }
        for e in entries
    ]
    body = {"type": "FeatureCollection", "banner": banner, "features": features}
    return Response(
        json.dumps(body),
        media_type="application/geo+json",
        headers={
            "X-Marking": banner,
            "Content-Disposition": 'attachment; filename="picture.geojson"',
        },
    )


@router.get("/picture.kml")
async def picture_kml(request: Request, principal: CurrentPrincipal) -> Response:
    entries, banner = _entries(request, principal)
    placemarks = []
    for e in entries:
        portion = e.marking.portion()
        name = escape(f"{portion} {e.event.callsign or e.event.uid}")
        description = escape(f"{e.marking.banner()} · {e.event.type} · {e.event.time.isoformat()}")
        placemarks.append(
            f'<Placemark id="{escape(e.event.uid)}"><name>{name}</name>'
            f"<description>{description}</description>"
            f"<Point><coordinates>{e.event.lon},{e.event.lat},0</coordinates></Point></Placemark>"
        )
    document = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
        f"<name>{escape(banner)}</name>"
        f"<description>{escape(banner)} — allied-c2 picture export</description>"
        f"{''.join(placemarks)}"
        f"<Snippet>{escape(banner)}</Snippet></Document></kml>"
    )
    return Response(
        document,
        media_type="application/vnd.google-earth.kml+xml",
        headers={"X-Marking": banner, "Content-Disposition": 'attachment; filename="picture.kml"'},
    )

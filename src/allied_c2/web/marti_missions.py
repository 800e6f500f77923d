"""Data Sync missions, the subset ATAK, WinTAK and iTAK call (official TAK Server ``MissionApi``).

``GET/PUT/DELETE /Marti/api/missions[/{name}]``, ``PUT/DELETE …/subscription``,
``PUT/DELETE …/contents``, ``GET …/changes`` and ``GET …/cot``, wrapped as the
official server wraps them (``{"version":"3","type":…,"data":…,"nodeId":…}``).
A mission the caller may not see is 404, as if absent; contents, changes and
CoT are filtered per item (server/missions.py).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from allied_c2.security.display import marking_json
from allied_c2.security.principals import Principal
from allied_c2.server.missions import SUBSCRIBER, ContentItem, MissionService
from allied_c2.server.peers import Refusal
from allied_c2.store.missions import HASH, UID, Change, MissionExists, MissionRecord
from allied_c2.web.auth import CurrentPrincipal, runtime_of
from allied_c2.web.marti import NODE_ID
from allied_c2.web.marti_sync import metadata_json

router = APIRouter(prefix="/Marti/api/missions", include_in_schema=False)

MISSION = "Mission"
MAX_NAME = 128


def _time(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _wrap(kind: str, data: Any, status: int = 200) -> JSONResponse:
    body = {"version": "3", "type": kind, "data": data, "messages": [], "nodeId": NODE_ID}
    return JSONResponse(body, status_code=status)


def _service(request: Request) -> MissionService:
    service: MissionService | None = runtime_of(request).missions
    if service is None:
        raise HTTPException(404, "missions are not offered")
    return service


def _mission(request: Request, principal: Principal, name: str) -> MissionRecord:
    service = _service(request)
    mission = service.store.get(name)
    if mission is None or not service.sees(mission, runtime_of(request).hub.reader_for(principal)):
        raise HTTPException(404, f"no mission {name!r}")
    return mission


def _content_json(item: ContentItem) -> dict[str, Any]:
    base = {"timestamp": _time(item.added_at), "creatorUid": item.creator_uid or ""}
    if item.kind == UID and item.entry is not None:
        event = item.entry.event
        details = {
            "type": event.type,
            "callsign": event.callsign or event.uid,
            "location": {"lat": event.lat, "lon": event.lon},
        }
        return {"data": item.key, "details": details, **base}
    return {"data": {"hash": item.key}, **base}


def mission_json(
    request: Request, mission: MissionRecord, principal: Principal, with_contents: bool = True
) -> dict[str, Any]:
    service = _service(request)
    reader = runtime_of(request).hub.reader_for(principal)
    uids: list[dict[str, Any]] = []
    contents: list[dict[str, Any]] = []
    if with_contents:
        for item in service.contents(mission, reader):
            if item.kind == UID:
                uids.append(_content_json(item))
            else:
                record = service.packages.store.get(item.key)
                if record is not None:
                    contents.append({**_content_json(item), "data": metadata_json(record)})
    marking = service.marking_of(mission)
    return {
        "name": mission.name,
        "description": mission.description,
        "chatRoom": "",
        "baseLayer": "",
        "bbox": "",
        "path": "",
        "classification": mission.banner,
        "marking": marking_json(marking),
        "tool": mission.tool,
        "keywords": [],
        "creatorUid": mission.creator_uid or "",
        "createTime": _time(mission.created_at),
        "groups": sorted(mission.groups),
        "externalData": [],
        "feeds": [],
        "mapLayers": [],
        "defaultRole": {"type": SUBSCRIBER},
        "inviteOnly": False,
        "expiration": -1,
        "guid": mission.guid,
        "uids": uids,
        "contents": contents,
        "passwordProtected": False,
    }


def change_json(change: Change) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": change.type,
        "missionName": change.mission,
        "timestamp": _time(change.at),
        "serverTime": _time(change.at),
        "creatorUid": change.creator_uid or "",
    }
    if change.content_uid:
        out["contentUid"] = change.content_uid
    if change.content_hash:
        out["contentHash"] = change.content_hash
    return out


@router.get("")
async def missions(
    request: Request,
    principal: CurrentPrincipal,
    passwordProtected: bool = False,
    defaultRole: bool = False,
) -> JSONResponse:
    del passwordProtected, defaultRole  # accepted as the official server does (TAKAware #155)
    service = _service(request)
    reader = runtime_of(request).hub.reader_for(principal)
    visible = await asyncio.to_thread(service.visible, reader)
    return _wrap(MISSION, [mission_json(request, m, principal, False) for m in visible])


@router.put("/{name}")
async def create(
    request: Request,
    principal: CurrentPrincipal,
    name: str,
    creatorUid: str | None = None,
    description: str = "",
    tool: str = "public",
    marking: str | None = None,
    classification: str | None = None,
) -> JSONResponse:
    service = _service(request)
    if not name or len(name) > MAX_NAME or not name.isprintable():
        raise HTTPException(400, f"a mission name is 1-{MAX_NAME} printable characters")
    existing = service.store.get(name)
    if existing is not None:  # the official server answers an existing mission with itself
        visible = _mission(request, principal, name)
        return _wrap(MISSION, [mission_json(request, visible, principal)])
    try:
        chosen = service.packages.upload_marking(principal, marking or classification)
    except Refusal as refusal:
        runtime_of(request).audit(
            principal.callsign, "mission.refused", name, {"reason": refusal.detail}
        )
        raise HTTPException(
            422 if refusal.reason == "bad_marking" else 403, refusal.detail
        ) from None
    try:
        mission = service.create(
            principal,
            name,
            marking=chosen,
            creator_uid=creatorUid,
            description=description[:4096],
            tool=tool[:32],
            now=datetime.now(UTC),
        )
    except MissionExists:
        raise HTTPException(409, f"mission {name!r} was created meanwhile") from None
    runtime_of(request).audit(
        principal.callsign, "mission.create", name, {"marking": mission.banner}
    )
    return _wrap(MISSION, [mission_json(request, mission, principal)], 201)


@router.get("/{name}")
async def get_mission(request: Request, principal: CurrentPrincipal, name: str) -> JSONResponse:
    mission = _mission(request, principal, name)
    return _wrap(MISSION, [mission_json(request, mission, principal)])


@router.delete("/{name}")
async def delete_mission(request: Request, principal: CurrentPrincipal, name: str) -> JSONResponse:
    service = _service(request)
    mission = _mission(request, principal, name)
    if not service.may_manage(mission, principal):
        raise HTTPException(403, "only the mission's creator or an admin may delete it")
    shown = mission_json(request, mission, principal)
    service.delete(mission, principal, datetime.now(UTC))
    runtime_of(request).audit(principal.callsign, "mission.delete", name, {})
    return _wrap(MISSION, [shown])


@router.put("/{name}/subscription")
async def subscribe(
    request: Request, principal: CurrentPrincipal, name: str, uid: str
) -> JSONResponse:
    service = _service(request)
    mission = _mission(request, principal, name)
    now = datetime.now(UTC)
    token = service.subscribe(mission, principal, uid[:256], now)
    runtime_of(request).audit(principal.callsign, "mission.subscribe", name, {"uid": uid[:256]})
    data = {
        "token": token,
        "clientUid": uid,
        "username": principal.callsign,
        "createTime": _time(now),
        "role": {"type": SUBSCRIBER, "permissions": ["MISSION_READ", "MISSION_WRITE"]},
        "mission": mission_json(request, mission, principal),
    }
    return _wrap("com.bbn.marti.sync.model.MissionSubscription", data, 201)


@router.delete("/{name}/subscription")
async def unsubscribe(
    request: Request, principal: CurrentPrincipal, name: str, uid: str
) -> Response:
    service = _service(request)
    mission = _mission(request, principal, name)
    service.unsubscribe(mission, uid)
    return Response(status_code=200)


class ContentsBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    hashes: list[str] = Field(default_factory=list, max_length=1000)
    uids: list[str] = Field(default_factory=list, max_length=1000)


@router.put("/{name}/contents")
async def add_contents(
    request: Request,
    principal: CurrentPrincipal,
    name: str,
    body: ContentsBody,
    creatorUid: str | None = None,
) -> JSONResponse:
    service = _service(request)
    mission = _mission(request, principal, name)
    refused = service.add(
        mission,
        principal,
        uids=body.uids,
        hashes=[h.lower() for h in body.hashes],
        creator_uid=creatorUid,
        now=datetime.now(UTC),
    )
    if refused:
        runtime_of(request).audit(
            principal.callsign, "mission.content_refused", name, {"refused": refused[:20]}
        )
        if len(refused) == len(body.uids) + len(body.hashes):
            raise HTTPException(403, "; ".join(refused[:5]))
    return _wrap(MISSION, [mission_json(request, mission, principal)])


@router.delete("/{name}/contents")
async def remove_contents(
    request: Request,
    principal: CurrentPrincipal,
    name: str,
    hash: str | None = None,
    uid: str | None = None,
    creatorUid: str | None = None,
) -> JSONResponse:
    service = _service(request)
    mission = _mission(request, principal, name)
    if (hash is None) == (uid is None):
        raise HTTPException(400, "give one of hash or uid")
    kind, key = (HASH, hash.lower()) if hash is not None else (UID, uid or "")
    if not service.remove(mission, kind, key, creatorUid, datetime.now(UTC)):
        raise HTTPException(404, f"{kind} {key} is not in the mission")
    return _wrap(MISSION, [mission_json(request, mission, principal)])


@router.get("/{name}/changes")
async def changes(
    request: Request,
    principal: CurrentPrincipal,
    name: str,
    secago: int | None = None,
    squashed: bool = False,
) -> JSONResponse:
    service = _service(request)
    mission = _mission(request, principal, name)
    reader = runtime_of(request).hub.reader_for(principal)
    since = datetime.now(UTC) - timedelta(seconds=secago) if secago is not None else None
    shown = service.changes(mission, reader, since)
    if squashed:  # the newest change per item, as the official server squashes
        latest: dict[tuple[str | None, str | None], Change] = {}
        for change in shown:
            latest[(change.content_uid, change.content_hash)] = change
        shown = list(latest.values())
    return _wrap("MissionChange", [change_json(c) for c in shown])


@router.get("/{name}/cot")
async def mission_cot(request: Request, principal: CurrentPrincipal, name: str) -> Response:
    service = _service(request)
    mission = _mission(request, principal, name)
    reader = runtime_of(request).hub.reader_for(principal)
    events = [
        item.entry.event.xml_wire
        for item in service.contents(mission, reader)
        if item.entry is not None
    ]
    body = b"<?xml version='1.0' encoding='UTF-8' standalone='yes'?>\n<events>"
    body += b"".join(_strip_declaration(e) for e in events) + b"</events>"
    return Response(body, media_type="application/xml")


def _strip_declaration(xml: bytes) -> bytes:
    if xml.startswith(b"<?xml"):
        end = xml.find(b"?>")
        return xml[end + 2 :].lstrip() if end >= 0 else xml
    return xml

"""Data packages and files the way ATAK, WinTAK and iTAK move them (issue 12).

Answered as the official TAK Server answers (shared reference
tak-server-api.md §2): ``missionquery`` 200 with the content URL as text or
404; ``missionupload`` (multipart ``assetfile``) the same URL, 403 for a hash
already stored; ``metadata/{hash}/tool`` takes ``private`` or ``public``;
``content`` streams the file from ``offset``; ``search`` lists metadata as
``{"resultCount", "results"}``; iTAK's ``upload`` takes a raw or multipart
body and answers the metadata JSON. Each answer passes the audience decision
(server/packages.py): a package the caller may not see is 404, as if absent,
and a denial is audited.
"""

from __future__ import annotations

import asyncio
import json
import logging
import mimetypes
from datetime import UTC, datetime
from typing import Any, NoReturn

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import PlainTextResponse, Response, StreamingResponse

from allied_c2.security.principals import Principal
from allied_c2.server.packages import PRIVATE_TOOL, PUBLIC_TOOL, TOOLS, PackageService
from allied_c2.server.peers import Refusal
from allied_c2.store.packages import PackageExists, PackageRecord
from allied_c2.web.auth import CurrentPrincipal, runtime_of
from allied_c2.web.manifest import manifest_parameter
from allied_c2.web.uploads import receive_file

log = logging.getLogger("allied_c2.web")

router = APIRouter(include_in_schema=False)

MISSION_PACKAGE = "missionpackage"
ZIP = "application/x-zip-compressed"  # what the official server records for packages


def packages_of(request: Request) -> PackageService:
    service: PackageService | None = runtime_of(request).packages
    if service is None:
        raise HTTPException(404, "data packages are not offered")
    return service


def content_url(request: Request, digest: str) -> str:
    base = str(request.base_url).rstrip("/")
    return f"{base}/Marti/sync/content?hash={digest}"


def metadata_json(record: PackageRecord, marking: dict[str, Any] | None = None) -> dict[str, Any]:
    """The official server's Metadata shape (ATAK reads UID, Name, Hash, PrimaryKey and
    SubmissionDateTime; MissionPackageQueryResult.java), plus the allied-c2 marking."""
    out: dict[str, Any] = {
        "UID": record.hash,
        "Name": record.name,
        "Hash": record.hash,
        "PrimaryKey": record.hash,
        "SubmissionDateTime": record.submitted_at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        "SubmissionUser": record.submitter,
        "CreatorUid": record.creator_uid or "",
        "MIMEType": record.mime_type,
        "Size": record.size,
        "Keywords": list(record.keywords),
        "Tool": record.tool,
        "Filename": record.filename,
    }
    if marking is not None:
        out["Marking"] = marking
    return out


def _denied(request: Request, principal: Principal, key: str, reason: str) -> None:
    runtime = runtime_of(request)
    peer = request.client.host if request.client else "-"
    log.warning("package %s withheld from %s: %s", key[:64], principal.callsign, reason)
    runtime.audit(principal.callsign, "package.denied", key[:64], {"reason": reason, "peer": peer})


def _visible(request: Request, principal: Principal, key: str) -> PackageRecord:
    service = packages_of(request)
    reader = runtime_of(request).hub.reader_for(principal)
    record = service.find(key, reader)
    if record is None:
        known = service.store.get(key.lower()) or service.store.by_uid(key)
        if known is not None:
            _denied(request, principal, key, service.decide(known, reader).reason or "")
        raise HTTPException(404, "no such package")
    return record


@router.get("/Marti/sync/missionquery")
async def mission_query(request: Request, principal: CurrentPrincipal, hash: str) -> Response:
    record = _visible(request, principal, hash)
    return PlainTextResponse(content_url(request, record.hash))


async def store_upload(
    request: Request,
    principal: Principal,
    *,
    expected_hash: str | None,
    name: str | None,
    filename: str | None,
    creator_uid: str | None,
    keywords: tuple[str, ...],
    marking: str | None,
    tool: str = PRIVATE_TOOL,
) -> PackageRecord:
    """Stream a request body into the store and record it as a marked package."""
    service = packages_of(request)
    runtime = runtime_of(request)
    peer = request.client.host if request.client else "-"
    if marking:  # refuse before reading a byte of a body that will not be kept
        try:
            service.upload_marking(principal, marking)
        except Refusal as refusal:
            _refuse_upload(request, principal, refusal, peer)
    received = await receive_file(request, service.files, expected_hash)
    stored = received.stored
    chosen = marking or received.fields.get("marking")
    if not chosen:
        chosen = await asyncio.to_thread(manifest_parameter, stored.path, "marking")
    try:
        item_marking = service.upload_marking(principal, chosen)
    except Refusal as refusal:
        if service.store.get(stored.hash) is None:
            service.files.delete(stored.hash)
        _refuse_upload(request, principal, refusal, peer)
    file_name = filename or received.filename or name or stored.hash
    mime = (
        received.content_type
        if received.content_type not in (None, "", "application/octet-stream")
        else None
    )
    record = service.new_record(
        digest=stored.hash,
        size=stored.size,
        name=name or file_name.removesuffix(".zip"),
        filename=file_name,
        mime_type=mime or mimetypes.guess_type(file_name)[0] or ZIP,
        keywords=keywords,
        tool=tool,
        marking=item_marking,
        principal=principal,
        creator_uid=creator_uid,
        now=datetime.now(UTC),
    )
    try:
        await asyncio.to_thread(service.store.add, record)
    except PackageExists:
        raise HTTPException(403, "a package with this hash is already stored") from None
    runtime.audit(
        principal.callsign,
        "package.upload",
        record.hash,
        {"name": record.name, "size": record.size, "marking": record.banner, "peer": peer},
    )
    return record


def _refuse_upload(request: Request, principal: Principal, refusal: Refusal, peer: str) -> NoReturn:
    runtime_of(request).audit(
        principal.callsign,
        "package.refused",
        "-",
        {"reason": refusal.reason, "detail": refusal.detail, "peer": peer},
    )
    status = 422 if refusal.reason == "bad_marking" else 403
    raise HTTPException(status, refusal.detail)


@router.post("/Marti/sync/missionupload")
async def mission_upload(
    request: Request,
    principal: CurrentPrincipal,
    hash: str | None = None,
    filename: str | None = None,
    creatorUid: str | None = None,
    marking: str | None = None,
) -> Response:
    service = packages_of(request)
    if hash is not None and service.store.get(hash.lower()) is not None:
        raise HTTPException(403, "a package with this hash is already stored")
    record = await store_upload(
        request,
        principal,
        expected_hash=hash,
        name=None,
        filename=filename,
        creator_uid=creatorUid,
        keywords=(MISSION_PACKAGE,),
        marking=marking,
    )
    return PlainTextResponse(content_url(request, record.hash))


@router.post("/Marti/sync/upload")
async def itak_upload(
    request: Request,
    principal: CurrentPrincipal,
    name: str | None = None,
    keywords: str | None = None,
    CreatorUid: str | None = None,
    creatorUid: str | None = None,
    marking: str | None = None,
    tool: str = PUBLIC_TOOL,
) -> dict[str, Any]:
    """iTAK's upload (TS UploadServlet): raw or multipart body, answered with the metadata.

    Enterprise sync uploads are listed (``public``) unless ``tool`` says otherwise;
    the marking still decides who may see them."""
    if tool not in TOOLS:
        raise HTTPException(400, f"tool must be one of {', '.join(TOOLS)}")
    words = tuple(k for k in (keywords or MISSION_PACKAGE).split(",") if k)
    record = await store_upload(
        request,
        principal,
        expected_hash=None,
        name=name,
        filename=name,
        creator_uid=creatorUid or CreatorUid,
        keywords=words,
        marking=marking,
        tool=tool,
    )
    return metadata_json(record)


@router.put("/Marti/api/sync/metadata/{digest}/tool")
async def set_tool(request: Request, principal: CurrentPrincipal, digest: str) -> Response:
    service = packages_of(request)
    record = _visible(request, principal, digest)
    tool = (await request.body()).decode("utf-8", "replace").strip().strip('"').lower()
    if tool not in TOOLS:
        raise HTTPException(400, f"tool must be one of {', '.join(TOOLS)}")
    if not service.may_manage(record, principal):
        raise HTTPException(403, "only the uploader or an admin may change a package")
    await asyncio.to_thread(service.set_tool, record, tool)
    runtime_of(request).audit(principal.callsign, "package.tool", record.hash, {"tool": tool})
    return PlainTextResponse("")


@router.get("/Marti/sync/content")
async def content(
    request: Request,
    principal: CurrentPrincipal,
    hash: str | None = None,
    uid: str | None = None,
    offset: int = 0,
) -> Response:
    key = hash or uid
    if not key:
        raise HTTPException(400, "hash or uid is required")
    record = _visible(request, principal, key)
    service = packages_of(request)
    if offset < 0 or offset > record.size:
        raise HTTPException(416, f"offset {offset} outside 0..{record.size}")
    if not service.files.exists(record.hash):
        raise HTTPException(404, "the package's content is missing from the file store")
    headers = {
        "Content-Disposition": f'attachment; filename="{_safe(record.filename)}"',
        "Content-Length": str(record.size - offset),
        "X-Marking": record.banner,
    }
    return StreamingResponse(
        service.files.read(record.hash, offset), media_type=record.mime_type, headers=headers
    )


@router.get("/Marti/sync/search")
async def search(
    request: Request,
    principal: CurrentPrincipal,
    keywords: str | None = None,
    tool: str | None = None,
) -> Response:
    service = packages_of(request)
    reader = runtime_of(request).hub.reader_for(principal)
    items = await asyncio.to_thread(service.visible, reader)
    wanted = {k for k in (keywords or "").split(",") if k}
    results = [
        metadata_json(i.record)
        for i in items
        if (not wanted or wanted & set(i.record.keywords))
        and (tool is None or i.record.tool == tool)
    ]
    body = json.dumps({"resultCount": len(results), "results": results})
    return Response(body, media_type="text/json")  # the official server's type


def _safe(name: str) -> str:
    return "".join(c for c in name if c.isprintable() and c not in '"\\')[:200] or "package"

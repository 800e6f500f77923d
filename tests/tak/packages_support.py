"""Helpers for the data package tests: a server with four principals, ATAK-shaped events."""

from __future__ import annotations

import hashlib
import io
import zipfile
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from allied_c2.security.principals import Principal
from tests.support.cot import iso
from tests.support.inprocess import InProcessServer

EAGLE = Principal("EAGLE", "USA", "SECRET")
CHARLIE = Principal("CHARLIE", "USA", "SECRET")
THIRD = Principal("THIRD", "USA", "SECRET")
SAKURA = Principal("SAKURA", "JPN", "SECRET")
AGILA = Principal("AGILA", "PHL", "CONFIDENTIAL")
ADMIN = Principal("ROOT", "USA", "TOP SECRET", roles=frozenset({"admin"}))
EVERYONE = (EAGLE, CHARLIE, THIRD, SAKURA, AGILA, ADMIN)


def data_package(name: str, marking: str | None = None, filler: bytes = b"") -> bytes:
    """A zip as ATAK builds it: MANIFEST/manifest.xml (v2) and one content file."""
    params = f'<Parameter name="uid" value="{name}-uid"/><Parameter name="name" value="{name}"/>'
    if marking is not None:
        params += f'<Parameter name="marking" value="{marking}"/>'
    manifest = (
        f'<MissionPackageManifest version="2"><Configuration>{params}</Configuration>'
        f'<Contents><Content ignore="false" zipEntry="{name}/notes.txt"/></Contents>'
        f"</MissionPackageManifest>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("MANIFEST/manifest.xml", manifest)
        archive.writestr(f"{name}/notes.txt", b"synthetic exercise notes " + filler)
    return out.getvalue()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def request(
    server: InProcessServer,
    method: str,
    path: str,
    who: Principal | None,
    **kwargs: Any,
) -> httpx.Response:
    headers = dict(kwargs.pop("headers", {}))
    if who is not None:
        headers["Authorization"] = f"Bearer {server.tokens[who.callsign]}"
    server.runtime.writer.flush()
    return server.loop.run_until_complete(
        server.http.request(method, path, headers=headers, **kwargs)
    )


def upload(
    server: InProcessServer,
    who: Principal,
    data: bytes,
    *,
    filename: str = "package.zip",
    marking: str | None = None,
    creator_uid: str = "ANDROID-1",
) -> httpx.Response:
    """ATAK's missionupload: multipart `assetfile`, hash and filename in the query."""
    params = {"hash": sha256(data), "filename": filename, "creatorUid": creator_uid}
    if marking is not None:
        params["marking"] = marking
    files = {"assetfile": (filename, data, "application/x-zip-compressed")}
    return request(server, "POST", "/Marti/sync/missionupload", who, params=params, files=files)


def announcement(
    sender_uid: str, sender_cs: str, to_cs: str, digest: str, size: int, url: str
) -> bytes:
    """ATAK's b-f-t-r for a server-hosted package, addressed with marti/dest."""
    now = datetime.now(UTC)
    return (
        f'<event version="2.0" uid="ft-{digest[:8]}-{to_cs}" type="b-f-t-r" time="{iso(now)}" '
        f'start="{iso(now)}" stale="{iso(now + timedelta(seconds=10))}" how="h-e">'
        f'<point lat="0" lon="0" hae="0" ce="9999999" le="9999999"/><detail>'
        f'<fileshare filename="package.zip" senderUrl="{url}" sizeInBytes="{size}" '
        f'sha256="{digest}" senderUid="{sender_uid}" senderCallsign="{sender_cs}" '
        f'name="package"/><ackrequest uid="ack-1" ackrequested="true" tag="package"/>'
        f'<marti><dest callsign="{to_cs}"/></marti></detail></event>'
    ).encode()


def ack(sender_uid: str, to_cs: str, digest: str, size: int) -> bytes:
    now = datetime.now(UTC)
    return (
        f'<event version="2.0" uid="{sender_uid}" type="b-f-t-a" time="{iso(now)}" '
        f'start="{iso(now)}" stale="{iso(now + timedelta(seconds=10))}" how="m-g">'
        f'<point lat="0" lon="0" hae="0" ce="0" le="0"/><detail>'
        f'<ackresponse uid="ack-1" senderUid="{sender_uid}" success="true" tag="package" '
        f'reason="File transferred successfully" sha256="{digest}" sizeInBytes="{size}"/>'
        f'<marti><dest callsign="{to_cs}"/></marti></detail></event>'
    ).encode()

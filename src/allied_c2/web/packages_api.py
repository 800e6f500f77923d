"""Files and data packages for the web COP, and connection packages for admins (issue 12).

``GET /api/v1/packages`` lists the packages the caller may see (each through
the audience, as ``/Marti/sync/search``), ``POST`` uploads one (multipart
``assetfile`` or a raw body, with ``marking`` from the picker: refused above
what the caller may send), ``GET …/{hash}`` downloads, ``DELETE`` removes it
(its uploader or an admin). ``GET /api/v1/users/{callsign}/connection-package``
gives an admin the zip `allied-c2 user package` writes: the enrollment variant
always (it carries no key), a client certificate only while the server holds
the CA key (``--enroll`` is on: the server otherwise never loads it).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from allied_c2.pki.paths import CALLSIGN, PkiError, PkiPaths
from allied_c2.security.display import marking_json
from allied_c2.server.packages import PRIVATE_TOOL, PUBLIC_TOOL, TOOLS
from allied_c2.web.auth import CurrentPrincipal, require_role, runtime_of
from allied_c2.web.items import banner_of
from allied_c2.web.marti_sync import content, metadata_json, packages_of, store_upload

router = APIRouter(prefix="/api/v1")
# pki/connection_package.py's default (kept equal: tests/server/test_serve_imports.py);
# that module and the bundles load `cryptography`, imported in connection_package() below.
STREAM_PORT = 8089


@router.get("/packages")
async def list_packages(request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    service = packages_of(request)
    reader = runtime_of(request).hub.reader_for(principal)
    items = await asyncio.to_thread(service.visible, reader)
    return {
        "banner": banner_of([i.marking for i in items], runtime_of(request).policy),
        "packages": [
            {
                **metadata_json(i.record, marking_json(i.marking)),
                "mayDelete": service.may_manage(i.record, principal),
            }
            for i in items
        ],
    }


@router.post("/packages")
async def upload_package(
    request: Request,
    principal: CurrentPrincipal,
    name: str | None = None,
    marking: str | None = None,
    tool: str = PUBLIC_TOOL,
) -> dict[str, Any]:
    if tool not in TOOLS:
        raise HTTPException(400, f"tool must be one of {', '.join(TOOLS)}")
    record = await store_upload(
        request,
        principal,
        expected_hash=None,
        name=name,
        filename=name,
        creator_uid=None,
        keywords=("missionpackage",) if tool == PUBLIC_TOOL else (PRIVATE_TOOL,),
        marking=marking,
        tool=tool,
    )
    service = packages_of(request)
    return metadata_json(record, marking_json(service.marking_of(record)))


@router.get("/packages/{digest}")
async def download_package(request: Request, principal: CurrentPrincipal, digest: str) -> Response:
    return await content(request, principal, hash=digest)


@router.delete("/packages/{digest}")
async def delete_package(request: Request, principal: CurrentPrincipal, digest: str) -> Response:
    service = packages_of(request)
    reader = runtime_of(request).hub.reader_for(principal)
    record = service.find(digest, reader)
    if record is None:
        raise HTTPException(404, "no such package")
    if not service.may_manage(record, principal):
        raise HTTPException(403, "only the uploader or an admin may delete a package")
    await asyncio.to_thread(service.delete, record)
    runtime_of(request).audit(principal.callsign, "package.delete", record.hash, {})
    return Response(status_code=204)


@router.get("/users/{callsign}/connection-package")
async def connection_package(
    request: Request,
    principal: CurrentPrincipal,
    callsign: str,
    host: str,
    enroll: bool = True,
    itak: bool = False,
    port: int = STREAM_PORT,
) -> Response:
    # Here, not at the top: the bundles and certificates load `cryptography` (with PyJWT
    # about 9 MB resident, docs/benchmarks.md "Where the memory is"), which a server only
    # needs once an admin asks for a package; from then on it stays loaded.
    from cryptography.hazmat.primitives import hashes

    from allied_c2.pki.authority import load_ca_certificate
    from allied_c2.pki.bundle import DEFAULT_P12_PASSWORD, client_p12, truststore_p12
    from allied_c2.pki.connection_package import PackageInput, atak_package, itak_package

    require_role(principal, "admin")
    runtime = runtime_of(request)
    if not CALLSIGN.match(callsign) or runtime.principals.get(callsign) is None:
        raise HTTPException(404, f"no active principal {callsign!r}")
    try:
        ca = load_ca_certificate(PkiPaths.under(runtime.config.data_dir))
    except PkiError as exc:
        raise HTTPException(409, str(exc)) from None
    client = None
    if not enroll:
        if runtime.enrollment is None:
            raise HTTPException(
                409,
                "a client certificate needs the CA key, which this server loads only with "
                "--enroll; use the enrollment package or `allied-c2 user package`",
            )
        issued = runtime.enrollment.authority.issue_client(callsign)
        certificate = issued.certificate
        fingerprint = certificate.fingerprint(hashes.SHA256()).hex()
        await asyncio.to_thread(
            runtime.principals.record_certificate,
            callsign,
            fingerprint,
            certificate.serial_number,
            certificate.not_valid_after_utc,
        )
        runtime.audit(
            principal.callsign,
            "certificate.issue",
            callsign,
            {"fingerprint": fingerprint, "via": "web connection package"},
        )
        client = client_p12(issued, ca, callsign, DEFAULT_P12_PASSWORD)
    spec = PackageInput(
        callsign=callsign,
        host=host[:253],
        port=port,
        truststore=truststore_p12(ca, DEFAULT_P12_PASSWORD),
        password=DEFAULT_P12_PASSWORD,
        client_p12=client,
    )
    data = itak_package(spec) if itak else atak_package(spec)
    runtime.audit(
        principal.callsign,
        "user.package",
        callsign,
        {"enroll": enroll, "itak": itak, "at": datetime.now(UTC).isoformat()},
    )
    suffix = "-itak" if itak else ""
    return Response(
        data,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{callsign}{suffix}.zip"'},
    )

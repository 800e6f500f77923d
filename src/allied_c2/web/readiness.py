"""Readiness over HTTP: ``/api/v1/readiness`` and its roll-ups (handlers run in the loop)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse

from allied_c2.security.markings import Marking
from allied_c2.server.request_rules import DecisionError
from allied_c2.web.auth import CurrentPrincipal, runtime_of
from allied_c2.web.items import banner_of
from allied_c2.web.requests import RETRY_AFTER, _body, refuse_while_database_away

if TYPE_CHECKING:
    from allied_c2.server.readiness import ReadinessService

router = APIRouter(prefix="/api/v1")


def readiness_of(request: Request) -> ReadinessService:
    service: ReadinessService | None = getattr(runtime_of(request), "readiness", None)
    if service is None:
        raise HTTPException(503, "readiness reporting is not enabled on this server")
    return service


@router.get("/readiness")
async def list_readiness(
    request: Request, principal: CurrentPrincipal, unit: str | None = None
) -> dict[str, Any]:
    service = readiness_of(request)
    now = service.clock.now()
    shown = [e for e in service.latest(principal, now) if unit is None or e.report.unit == unit]
    markings: list[Marking] = [e.marking for e in shown if e.marking is not None]
    return {
        "banner": banner_of(markings, service.policy),
        "reports": [service.report_json(e, now) for e in shown],
    }


@router.post("/readiness", status_code=201, response_model=None)
async def post_readiness(
    request: Request, principal: CurrentPrincipal
) -> dict[str, Any] | JSONResponse:
    refuse_while_database_away(request)
    service = readiness_of(request)
    body = await _body(request)
    try:
        entry = service.post(principal, body)
    except DecisionError as exc:
        headers = RETRY_AFTER if exc.status == 503 else None
        return JSONResponse({"detail": exc.reason}, status_code=exc.status, headers=headers)
    return service.report_json(entry)


@router.get("/readiness/rollup", response_model=None)
async def readiness_rollup(
    request: Request, principal: CurrentPrincipal, org: str | None = None, by: str | None = None
) -> dict[str, Any] | JSONResponse:
    service = readiness_of(request)
    try:
        if by == "nation":
            return service.rollup_by_nation(principal)
        if by is not None:
            raise DecisionError(422, f"by={by!r}: only by=nation is supported")
        if org is None:
            raise DecisionError(422, "give org=ID (a command subtree) or by=nation")
        return service.rollup(principal, org)
    except DecisionError as exc:
        return JSONResponse({"detail": exc.reason}, status_code=exc.status)

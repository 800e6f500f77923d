"""Decision requests over HTTP: ``/api/v1/requests``.

Handlers are ``async`` on purpose: they run in the server's event loop, where
the relay, the live views and the request timers live, instead of a worker
thread. Rules (who may submit, see, act): docs/decisions.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse

from allied_c2.security.markings import Marking
from allied_c2.server.decisions import DATABASE_UNAVAILABLE
from allied_c2.server.request_rules import DecisionError
from allied_c2.web.auth import CurrentPrincipal, runtime_of
from allied_c2.web.guards import DATABASE_RETRY_AFTER_S
from allied_c2.web.items import banner_of

if TYPE_CHECKING:
    from allied_c2.server.decisions import DecisionService

router = APIRouter(prefix="/api/v1")
# A 503 for a database that is away says when to try again (web/guards.py).
RETRY_AFTER = {"Retry-After": str(DATABASE_RETRY_AFTER_S)}


def decisions_of(request: Request) -> DecisionService:
    service: DecisionService | None = getattr(runtime_of(request), "decisions", None)
    if service is None:
        raise HTTPException(503, "decision requests are not enabled on this server")
    return service


def refuse_while_database_away(request: Request) -> None:
    """503 at once for a change while history writes find the database away.

    The store would refuse it too (and the services answer 503 then), but asking a
    database that is not there can take a connect timeout on the event loop.
    """
    writer = getattr(runtime_of(request), "writer", None)
    if writer is not None and not writer.available:
        raise HTTPException(503, DATABASE_UNAVAILABLE, headers=RETRY_AFTER)


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise HTTPException(422, "the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise HTTPException(422, "the body must be a JSON object")
    return body


def _refused(status: int, reason: str) -> JSONResponse:
    headers = RETRY_AFTER if status == 503 else None
    return JSONResponse({"detail": reason}, status_code=status, headers=headers)


@router.get("/requests")
async def list_requests(
    request: Request,
    principal: CurrentPrincipal,
    state: str | None = None,
    holder: str | None = None,
) -> dict[str, Any]:
    service = decisions_of(request)
    shown = [
        t
        for t in service.visible(principal)
        if (state is None or t.machine.state.value == state)
        and (holder is None or holder in t.machine.holders)
    ]
    markings: list[Marking] = [t.marking for t in shown if t.marking is not None]
    return {
        "banner": banner_of(markings, service.policy),
        "requests": [service.as_json(t, principal) for t in shown],
    }


@router.post("/requests", status_code=201, response_model=None)
async def submit_request(
    request: Request, principal: CurrentPrincipal
) -> dict[str, Any] | JSONResponse:
    refuse_while_database_away(request)
    service = decisions_of(request)
    body = await _body(request)
    try:
        tracked = service.submit(principal, body)
    except DecisionError as exc:
        return _refused(exc.status, exc.reason)
    return service.as_json(tracked, principal)


@router.get("/requests/{rid}", response_model=None)
async def get_request(
    rid: str, request: Request, principal: CurrentPrincipal
) -> dict[str, Any] | JSONResponse:
    service = decisions_of(request)
    try:
        tracked = service.get(principal, rid)
    except DecisionError as exc:
        return _refused(exc.status, exc.reason)
    return service.as_json(tracked, principal)


@router.post("/requests/{rid}/actions", response_model=None)
async def act_on_request(
    rid: str, request: Request, principal: CurrentPrincipal
) -> dict[str, Any] | JSONResponse:
    refuse_while_database_away(request)
    service = decisions_of(request)
    body = await _body(request)
    try:
        tracked = service.act(
            principal, rid, str(body.get("action") or ""), str(body.get("reason") or "")
        )
    except DecisionError as exc:
        return _refused(exc.status, exc.reason)
    return service.as_json(tracked, principal)

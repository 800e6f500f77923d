"""Health and metrics on the HTTP(S) listeners: counts only for admins.

Counts are operational intelligence (how many clients, how large a picture), so
neither ``/metrics`` nor the counts in ``/api/v1/health`` go to a caller without
the ``admin`` role; without credentials health says only ready or not (200/503),
which is all a load balancer needs. A Prometheus that cannot present an admin
token or certificate scrapes the loopback-only metrics listener instead
(``--metrics HOST:PORT``, config.py).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CollectorRegistry

from allied_c2 import __version__
from allied_c2.security.principals import Principal
from allied_c2.web.auth import CurrentPrincipal, runtime_of
from allied_c2.web.metrics import metrics_text

router = APIRouter()


def require_admin(request: Request, principal: Principal) -> None:
    """401 without credentials (saying how to give some), 403 with the wrong ones."""
    if principal.has_role("admin"):
        return
    if principal == runtime_of(request).directory.anonymous:
        raise HTTPException(401, "needs an admin principal", {"WWW-Authenticate": "Bearer"})
    raise HTTPException(403, "needs the admin role")


@router.get("/api/v1/health", response_model=None)
async def health(request: Request, principal: CurrentPrincipal) -> dict[str, Any] | JSONResponse:
    """Ready or not for everyone (a load balancer); the counts for an admin only."""
    runtime = runtime_of(request)
    # Not ready while audit writes fail and audited actions are refused (fail closed);
    # a full queue alone is a passing storm, not a reason to be taken out of service.
    ready = not (runtime.audit.failing and runtime.config.audit_fail_closed)
    body: dict[str, Any] = {"status": "ok" if ready else "unavailable"}
    if principal.has_role("admin"):
        body |= {
            "version": __version__,
            "connections": len(runtime.service.connections),
            "picture_items": len(runtime.hub.picture),
            "audit_failing": runtime.audit.failing,
        }
    return body if ready else JSONResponse(body, status_code=503)


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request, principal: CurrentPrincipal) -> Response:
    # async: the collector reads the relay's counters on the event loop that changes them
    require_admin(request, principal)
    registry: CollectorRegistry = request.app.state.metrics_registry
    return Response(metrics_text(registry), media_type="text/plain; version=0.0.4")

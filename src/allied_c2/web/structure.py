"""The loaded command structure over HTTP, filtered for the caller (JSON and C2SIM).

A C2SIM export is an exit like any other: it carries only what the caller may see.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, HTTPException, Request, Response

from allied_c2.alliance.c2sim import export_c2sim
from allied_c2.security.principals import Principal
from allied_c2.server.request_rules import NO_STRUCTURE
from allied_c2.server.structure import structure_json
from allied_c2.web.auth import CurrentPrincipal, runtime_of
from allied_c2.web.items import banner_of

if TYPE_CHECKING:
    from allied_c2.alliance.model import Structure
    from allied_c2.server.structure import StructureReleases

router = APIRouter(prefix="/api/v1")
BANNER_HEADER = "X-Classification-Banner"


def _view(request: Request, principal: Principal) -> tuple[Structure, StructureReleases, str]:
    runtime = runtime_of(request)
    releases: StructureReleases | None = getattr(runtime, "structure_releases", None)
    if releases is None:
        raise HTTPException(404, NO_STRUCTURE)
    view, markings = releases.filtered(principal, runtime.hub.releases.decide)
    return view, releases, banner_of(markings, runtime.policy)


@router.get("/structure")
def get_structure(request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    view, releases, banner = _view(request, principal)
    return structure_json(view, releases, banner)


@router.get("/structure/c2sim")
def get_structure_c2sim(request: Request, principal: CurrentPrincipal) -> Response:
    view, _, banner = _view(request, principal)
    return Response(
        export_c2sim(view),
        media_type="application/xml",
        headers={
            BANNER_HEADER: banner,
            "Content-Disposition": f'attachment; filename="{view.name}-c2sim.xml"',
        },
    )

"""The loaded command structure over HTTP, filtered for the caller (JSON and C2SIM).

A C2SIM export is an exit like any other: it carries only what the caller may see,
and so does its companion (the same view as a scenario file, with what C2SIM
cannot hold). The C2SIM header has only a level; the full banner is the
``X-Classification-Banner`` header of both.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response

from allied_c2.alliance.c2sim import export_c2sim
from allied_c2.alliance.c2sim_companion import SUFFIX, companion_text
from allied_c2.alliance.c2sim_xml import DEFAULT_VERSION, VERSIONS, C2SIMError
from allied_c2.security.principals import Principal
from allied_c2.server.request_rules import NO_STRUCTURE
from allied_c2.server.structure import structure_json
from allied_c2.web.auth import CurrentPrincipal, runtime_of
from allied_c2.web.items import banner_of

if TYPE_CHECKING:
    from allied_c2.alliance.model import Structure
    from allied_c2.server.structure import StructureReleases

router = APIRouter(prefix="/api/v1")
# The OpenAPI document says these answer XML (schemathesis checks the content type).
XML_RESPONSE: dict[int | str, dict[str, Any]] = {200: {"content": {"application/xml": {}}}}
YAML_RESPONSE: dict[int | str, dict[str, Any]] = {200: {"content": {"application/yaml": {}}}}
BANNER_HEADER = "X-Classification-Banner"


def _view(request: Request, principal: Principal) -> tuple[Structure, StructureReleases, str]:
    runtime = runtime_of(request)
    releases: StructureReleases | None = getattr(runtime, "structure_releases", None)
    if releases is None:
        raise HTTPException(404, NO_STRUCTURE)
    view, markings = releases.filtered(principal, runtime.hub.audience.public)
    return view, releases, banner_of(markings, runtime.policy)


@router.get("/structure")
def get_structure(request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    view, releases, banner = _view(request, principal)
    return structure_json(view, releases, banner)


def _c2sim_version(value: str) -> str:
    if value not in VERSIONS:
        raise HTTPException(422, f"version: one of {', '.join(VERSIONS)}")
    return value


@router.get("/structure/c2sim", responses=XML_RESPONSE)
def get_structure_c2sim(
    request: Request,
    principal: CurrentPrincipal,
    version: str = Query(DEFAULT_VERSION, description=f"C2SIM schema: {', '.join(VERSIONS)}"),
    header: bool = Query(True, description="Message with C2SIMHeader; false: MessageBody root"),
) -> Response:
    view, _, banner = _view(request, principal)
    try:
        document = export_c2sim(
            view,
            c2sim_version=_c2sim_version(version),
            header=header,
            policy=runtime_of(request).policy,
        )
    except C2SIMError as exc:  # nothing the caller may see
        raise HTTPException(404, str(exc)) from None
    return Response(
        document,
        media_type="application/xml",
        headers={
            BANNER_HEADER: banner,
            "Content-Disposition": f'attachment; filename="{view.name}-c2sim.xml"',
        },
    )


@router.get("/structure/c2sim/companion", responses=YAML_RESPONSE)
def get_structure_c2sim_companion(
    request: Request,
    principal: CurrentPrincipal,
    version: str = Query(DEFAULT_VERSION, description="the C2SIM version it accompanies"),
) -> Response:
    view, _, banner = _view(request, principal)
    name = f"{view.name}-c2sim"
    return Response(
        companion_text(view, f"{name}.xml", _c2sim_version(version)),
        media_type="application/yaml",
        headers={
            BANNER_HEADER: banner,
            "Content-Disposition": f'attachment; filename="{name}{SUFFIX}"',
        },
    )

"""The HTTP API, composed in one place from small routers.

Every route that returns items filters them one by one through the release
decision for the caller and marks the response with the roll-up banner.
"""

from __future__ import annotations

from datetime import UTC, datetime
from importlib import resources
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, FastAPI, HTTPException, Query, Request, Response
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles

from allied_c2 import __version__
from allied_c2.cot.errors import CotError
from allied_c2.cot.xmlcodec import parse_xml
from allied_c2.security.markings import Marking, MarkingError, marking_from_cot
from allied_c2.web.auth import CurrentPrincipal, runtime_of
from allied_c2.web.items import banner_of, item_json
from allied_c2.web.marti import router as marti_router
from allied_c2.web.metrics import metrics_text, registry_for
from allied_c2.web.readiness import router as readiness_router
from allied_c2.web.requests import router as requests_router
from allied_c2.web.stream import principal_json
from allied_c2.web.stream import router as stream_router
from allied_c2.web.structure import router as structure_router

if TYPE_CHECKING:
    from allied_c2.app import Runtime

router = APIRouter(prefix="/api/v1")


# In-memory views of the relay run on the event loop (async), never in the worker
# threads, so they cannot see the picture while the relay is changing it.


@router.get("/health")
async def health(request: Request) -> dict[str, Any]:
    runtime = runtime_of(request)
    return {
        "status": "ok",
        "version": __version__,
        "connections": len(runtime.service.connections),
        "picture_items": len(runtime.hub.picture),
    }


@router.get("/whoami")
async def whoami(principal: CurrentPrincipal) -> dict[str, Any]:
    return principal_json(principal)


@router.get("/picture")
async def picture(request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    runtime = runtime_of(request)
    entries = runtime.hub.releasable_picture(principal, datetime.now(UTC))
    return {
        "banner": banner_of([e.marking for e in entries], runtime.policy),
        "items": [item_json(e.event, e.marking) for e in entries],
    }


def _parse_time(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise HTTPException(422, f"{name}: not an ISO 8601 time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@router.get("/events")
def events(
    request: Request,
    principal: CurrentPrincipal,
    uid: str | None = None,
    since: str | None = None,
    until: str | None = None,
    limit: int = Query(1000, ge=1, le=10000),
) -> dict[str, Any]:
    runtime = runtime_of(request)
    rows = runtime.reader.history(
        uid, _parse_time(since, "since"), _parse_time(until, "until"), limit
    )
    decide = runtime.hub.releases.decide
    out: list[dict[str, Any]] = []
    shown: list[Marking] = []
    for row in rows:
        try:
            marking = marking_from_cot(
                row.access,
                row.caveat,
                row.releasable_to,
                runtime.policy,
                default=runtime.hub.default_marking,
            ).with_originator(row.originator)
            if not decide(marking, principal).allowed:
                continue
            event = parse_xml(row.xml, max_bytes=runtime.config.max_event_bytes)
        except (MarkingError, CotError):
            continue  # never release what cannot be checked
        shown.append(marking)
        out.append(item_json(event, marking))
    return {"banner": banner_of(shown, runtime.policy), "events": out}


def create_api(runtime: Runtime) -> FastAPI:
    app = FastAPI(
        title="allied-c2",
        version=__version__,
        docs_url="/api/docs",
        openapi_url="/api/openapi.json",
        redoc_url=None,
    )
    app.state.runtime = runtime
    app.include_router(router)
    app.include_router(stream_router)
    app.include_router(marti_router)  # what TAK clients ask a TAK server
    for alliance in (requests_router, readiness_router, structure_router):  # issue 4
        app.include_router(alliance)
    registry = registry_for(runtime)

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(metrics_text(registry), media_type="text/plain; version=0.0.4")

    _mount_static(app)
    return app


def _mount_static(app: FastAPI) -> None:
    static = resources.files("allied_c2.web") / "static"
    index = static / "index.html"
    if index.is_file():
        app.mount(
            "/assets", StaticFiles(directory=str(static / "assets"), check_dir=False), name="assets"
        )

        @app.get("/", include_in_schema=False)
        def page() -> FileResponse:
            return FileResponse(str(index))

        for extra in ("favicon.svg", "favicon.ico"):
            if (static / extra).is_file():
                path = str(static / extra)
                app.add_api_route(
                    f"/{extra}", lambda p=path: FileResponse(p), include_in_schema=False
                )
    else:

        @app.get("/", include_in_schema=False)
        def no_page() -> HTMLResponse:
            return HTMLResponse(
                "<h1>allied-c2</h1><p>The web COP is not built: run <code>make setup</code>.</p>"
                '<p>API: <a href="/api/docs">/api/docs</a></p>'
            )

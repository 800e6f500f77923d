"""The HTTP API, composed in one place from small routers.

Every route that returns items filters them one by one through the release
decision for the caller and marks the response with the roll-up banner.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from importlib import resources
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, FastAPI, HTTPException, Query, Request
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles

from allied_c2 import __version__
from allied_c2.server.history_views import visible_history
from allied_c2.web.auth import CurrentPrincipal, runtime_of
from allied_c2.web.c2sim import router as c2sim_router
from allied_c2.web.chat import install as install_chat
from allied_c2.web.chat import router as chat_router
from allied_c2.web.cluster import router as cluster_router
from allied_c2.web.database_away import install as install_database_away
from allied_c2.web.federation import router as federation_router
from allied_c2.web.guards import RequestGuard
from allied_c2.web.health import router as ops_router
from allied_c2.web.items import banner_of, item_json
from allied_c2.web.markings import router as markings_router
from allied_c2.web.markup import router as markup_router
from allied_c2.web.marti import router as marti_router
from allied_c2.web.metrics import registry_for
from allied_c2.web.readiness import router as readiness_router
from allied_c2.web.replay import parse_time, picture_as_of
from allied_c2.web.replay import router as replay_router
from allied_c2.web.requests import router as requests_router
from allied_c2.web.stream import principal_json
from allied_c2.web.stream import router as stream_router
from allied_c2.web.structure import router as structure_router
from allied_c2.web.tak import tak_routers

if TYPE_CHECKING:
    from allied_c2.app import Runtime

router = APIRouter(prefix="/api/v1")


# In-memory views of the relay run on the event loop (async), never in the worker
# threads, so they cannot see the picture while the relay is changing it.


@router.get("/whoami")
async def whoami(principal: CurrentPrincipal) -> dict[str, Any]:
    return principal_json(principal)


@router.get("/picture")
async def picture(
    request: Request, principal: CurrentPrincipal, at: str | None = None
) -> dict[str, Any]:
    runtime = runtime_of(request)
    if at is not None:  # replay: the picture as it stood then, rebuilt from history
        return await picture_as_of(runtime, principal, parse_time(at, "at"))
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
async def events(
    request: Request,
    principal: CurrentPrincipal,
    uid: str | None = None,
    since: str | None = None,
    until: str | None = None,
    limit: int = Query(1000, ge=1, le=10000),
) -> dict[str, Any]:
    runtime = runtime_of(request)
    start, end = _parse_time(since, "since"), _parse_time(until, "until")
    # Who the caller is for addressing is read on the event loop, beside the
    # relay that updates it; the query and the parsing run in a worker thread.
    reader = runtime.hub.reader_for(principal)
    rows = await asyncio.to_thread(runtime.reader.history, uid, start, end, limit)
    visible = await asyncio.to_thread(
        visible_history, runtime.hub, rows, reader, runtime.config.max_event_bytes
    )
    return {
        "banner": banner_of([marking for _, marking in visible], runtime.policy),
        "events": [item_json(event, marking) for event, marking in visible],
    }


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
    for tak in tak_routers():  # channels, files, missions (issue 12): web/tak.py
        app.include_router(tak)
    app.include_router(markings_router)  # the page's banners are the server's roll-ups
    # The web COP as a working tool (issue 15): chat, marking up the map, replay.
    for working in (chat_router, markup_router, replay_router):
        app.include_router(working)
    install_chat(runtime)  # live chat to the web views, through the hub's outlet
    for alliance in (requests_router, readiness_router, structure_router):  # issue 4
        app.include_router(alliance)
    app.include_router(c2sim_router)  # C2SIM reports in and out (issue 10)
    app.include_router(federation_router)  # links and federated contacts (issue 11)
    app.include_router(cluster_router)  # the cluster's nodes (issue 13, docs/scaling.md)
    # /api/v1/health (ready for all, counts for admins) and /metrics (admins): web/health.py
    app.state.metrics_registry = registry_for(runtime)
    app.include_router(ops_router)
    # Bounded bodies and no unaudited actions, before any route sees a request (web/guards.py).
    app.add_middleware(RequestGuard, runtime=runtime)
    # A database that cannot be reached is a 503 with Retry-After from any route.
    install_database_away(app)

    _mount_static(app)
    _document_refusals(app)
    return app


def _document_refusals(app: FastAPI) -> None:
    """Say in the OpenAPI document that a 422's ``detail`` may be a sentence.

    FastAPI documents 422 as its own validation error (a list); the API's handlers
    also refuse with one line of text (``HTTPException(422, "...")``), which a
    schema-checking client (schemathesis, tests/reliability) would otherwise see as
    a response that breaks its schema.
    """
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = build()
            schemas = document.get("components", {}).get("schemas", {})
            error = schemas.get("HTTPValidationError", {}).get("properties", {})
            if "detail" in error:
                listed = error["detail"]
                error["detail"] = {"anyOf": [{"type": "string"}, listed], "title": "Detail"}
        return app.openapi_schema or build()

    app.openapi = openapi  # type: ignore[method-assign]


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

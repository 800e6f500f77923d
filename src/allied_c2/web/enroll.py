"""The enrollment listener's HTTP edge: an ASGI app around server/enrollment.py.

Its own HTTPS listener (``--enroll``, TAK's 8446), where the TLS handshake asks
for no client certificate (the client has none yet; TS serves tls/ only on a
``clientAuth="false"`` connector). Bodies are bounded (a CSR is a few KiB),
decisions run in a worker thread (password hashing and the database block).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from allied_c2.server.enrollment import MAX_CSR, Enrollment, EnrollRequest

if TYPE_CHECKING:
    from allied_c2.app import Runtime


async def _read(request: Request) -> bytes | None:
    chunks = bytearray()
    async for chunk in request.stream():
        chunks += chunk
        if len(chunks) > MAX_CSR:
            return None
    return bytes(chunks)


def enroll_app(runtime: Runtime, enrollment: Enrollment) -> Starlette:
    del runtime  # the enrollment service carries what it needs

    async def endpoint(request: Request) -> Response:
        body = await _read(request)
        if body is None:
            return Response("certificate request too large", 413, media_type="text/plain")
        answer = await asyncio.to_thread(
            enrollment.handle,
            EnrollRequest(
                method=request.method,
                path=request.url.path,
                query=dict(request.query_params),
                authorization=request.headers.get("authorization"),
                accept=request.headers.get("accept"),
                body=body,
                peer=request.client.host if request.client else "-",
            ),
        )
        return Response(
            answer.body, answer.status, headers=answer.headers, media_type=answer.media_type
        )

    methods = ["GET", "POST", "PUT", "DELETE"]
    return Starlette(routes=[Route("/{path:path}", endpoint, methods=methods)])

"""ASGI middleware at the HTTP exits: bounded request bodies, and no unaudited actions.

Pure ASGI (no Starlette ``BaseHTTPMiddleware``): it sees the body as it streams
in, so a large one is refused without being buffered, and it adds nothing to
WebSocket connections.

- **Body size** (``max_http_body``): a ``Content-Length`` above the bound gets
  413 before a byte of the body is read; a chunked body is counted as it
  arrives and refused the moment it passes the bound.
- **JSON shape** (``max_json_depth``, ``max_json_string``): every body the API
  takes is small JSON. A body that parses as JSON is checked before a handler
  sees it; deeper nesting than the bound (Python's parser recurses: a deep
  enough body is a RecursionError, not data) or a longer string gets 422.
- **Audit gate** (``audit_fail_closed``): while the audit log cannot be
  written, a request that changes something (POST/PUT/PATCH/DELETE: request
  actions, readiness reports) gets 503 instead of an action nobody recorded.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from allied_c2.app import Runtime

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# The words of server/decisions.py's DATABASE_UNAVAILABLE (not imported: the web
# guard does not load the alliance services).
DATABASE_AWAY = "the database is unavailable: nothing was stored; try again later"
# When to try again after such a 503 (RFC 9110 §10.2.3): the writer retries every few seconds.
DATABASE_RETRY_AFTER_S = 5
# POST routes that compute an answer and change nothing: they need no audit entry,
# so a failing audit log must not take them away (the page's banner uses the first).
READ_ONLY_POSTS = frozenset({"/api/v1/markings/rollup"})
# File uploads (issue 12) have their own bound, ``max_package_bytes``, and are not
# buffered here: the route streams them to disk (web/uploads.py) and stops at the bound.
UPLOADS = frozenset({"/Marti/sync/missionupload", "/Marti/sync/upload", "/api/v1/packages"})


# A multipart body is the file plus its part headers and small fields.
_MULTIPART_SLACK = 64 * 1024


class _TooLarge(Exception):
    pass


class _Disconnected(Exception):
    pass


async def _refuse(send: Send, status: int, detail: str, retry_after: int | None = None) -> None:
    body = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    if retry_after is not None:
        headers.append((b"retry-after", b"%d" % retry_after))
    if status == 413:
        headers.append((b"connection", b"close"))  # the rest of the body is not read
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def json_shape_problem(value: object, max_depth: int, max_string: int) -> str | None:
    """Why a parsed JSON value is refused (too deep, a string too long), or None."""
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if len(item) > max_string:
                return f"a JSON string is longer than {max_string} characters"
        elif isinstance(item, dict | list):
            if depth > max_depth:
                return f"JSON nested deeper than {max_depth} levels"
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return None


def _json_problem(body: bytes, max_depth: int, max_string: int) -> str | None:
    try:
        value = json.loads(body)
    except RecursionError:
        return f"JSON nested deeper than {max_depth} levels"
    except ValueError:
        return None  # not JSON: the handler refuses it in its own words
    return json_shape_problem(value, max_depth, max_string)


class RequestGuard:
    """Wraps the API app; see the module docstring for what it refuses and why."""

    def __init__(self, app: ASGIApp, runtime: Runtime) -> None:
        self.app = app
        self.runtime = runtime
        config = runtime.config
        self.max_body = config.max_http_body
        self.max_depth = config.max_json_depth
        self.max_string = config.max_json_string

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope.get("method", "GET")
        audit = self.runtime.audit
        if (
            method in MUTATING
            and self.runtime.config.audit_fail_closed
            and not audit.accepting
            and scope.get("path") not in READ_ONLY_POSTS
        ):
            if not self.runtime.writer.available:
                # The audit log lives in the database: say what is really away, and
                # when to try again (docs/reliability.md).
                await _refuse(send, 503, DATABASE_AWAY, retry_after=DATABASE_RETRY_AFTER_S)
                return
            await _refuse(send, 503, "the audit log cannot be written: refusing to act unaudited")
            return
        length = _content_length(scope)
        if method == "POST" and scope.get("path") in UPLOADS:
            bound = self.runtime.config.max_package_bytes
            if length is not None and length > bound + _MULTIPART_SLACK:
                await _refuse(send, 413, f"upload over {bound} bytes")
                return
            await self.app(scope, receive, send)  # streamed and bounded by the route
            return
        if length is not None and length > self.max_body:
            await _refuse(send, 413, f"request body over {self.max_body} bytes")
            return
        if method not in MUTATING and not length:
            await self.app(scope, receive, send)  # nothing to read: no buffering
            return
        try:
            body = await self._read(receive)
        except _TooLarge:
            await _refuse(send, 413, f"request body over {self.max_body} bytes")
            return
        except _Disconnected:
            return  # the client went away mid-body: nobody to answer
        problem = _json_problem(body, self.max_depth, self.max_string) if body else None
        if problem is not None:
            await _refuse(send, 422, problem)
            return
        await self.app(scope, _replay(body, receive), send)

    async def _read(self, receive: Receive) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                raise _Disconnected
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                raise _TooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body once, as one message; afterwards the client's own messages (disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None

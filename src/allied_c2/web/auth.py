"""Who is calling the HTTP API: bearer token, client certificate, or anonymous.

A token never travels in a URL (URLs end up in proxy and server logs, browser
history and Referer headers; RFC 6750 §5.3). Over HTTP it is the
``Authorization: Bearer`` header. A browser cannot set headers on a WebSocket, so
``/api/v1/stream`` takes it, in this order, from:

1. the ``Authorization`` header (non-browser clients);
2. a ``Sec-WebSocket-Protocol`` value ``bearer.<token>``: the server answers with
   ``allied-c2`` when the client offered it too (so the token is not echoed),
   otherwise with the ``bearer.<token>`` value (a browser requires an answer);
3. the client certificate of an ``--https`` connection;
4. else the first message, ``{"token": "..."}`` (or ``{}`` to stay anonymous),
   within :data:`SIGN_IN_TIMEOUT` seconds.

A ``?token=`` query is refused (close code 4400), so an old client fails loudly.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, HTTPException, Request, WebSocket, WebSocketDisconnect

from allied_c2.security.principals import Principal

if TYPE_CHECKING:
    from allied_c2.app import Runtime

TLS_FINGERPRINT = "tls_client_fingerprint"
WS_CREDENTIALS = "ws_credentials"  # (token, fingerprint) a stream signed in with
BEARER_PREFIX = "bearer."
APP_SUBPROTOCOL = "allied-c2"
SIGN_IN_TIMEOUT = 10.0
# Application close codes (RFC 6455 §7.4.2), mirroring HTTP 400/401.
CLOSE_BAD_REQUEST = 4400
CLOSE_UNAUTHORISED = 4401


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def _resolve(
    runtime: Runtime, authorization: str | None, token: str | None, fingerprint: str | None
) -> Principal:
    directory = runtime.directory
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise HTTPException(401, "Authorization must be 'Bearer <token>'")
        token = value.strip()
    if token:
        principal = directory.by_token(token)
        if principal is None:
            raise HTTPException(401, "unknown, expired or revoked token")
        return principal
    if fingerprint:
        principal = directory.by_fingerprint(fingerprint)
        if principal is None:
            raise HTTPException(401, "client certificate unknown or revoked")
        return principal
    return directory.anonymous


def current_principal(request: Request) -> Principal:
    return _resolve(
        runtime_of(request),
        request.headers.get("authorization"),
        None,
        getattr(request.state, TLS_FINGERPRINT, None),
    )


def _offered(websocket: WebSocket) -> tuple[str | None, str | None]:
    """The bearer token among the offered subprotocols, and the subprotocol to answer."""
    offered: list[str] = list(websocket.scope.get("subprotocols") or ())
    token = next((p[len(BEARER_PREFIX) :] for p in offered if p.startswith(BEARER_PREFIX)), None)
    if APP_SUBPROTOCOL in offered:
        return token, APP_SUBPROTOCOL
    return token, (BEARER_PREFIX + token) if token else None


def websocket_principal(websocket: WebSocket) -> Principal:
    """Who the socket is now, from the credentials it signed in with (re-checked on
    every call, so a revocation shows); raises HTTPException when they are refused."""
    runtime: Runtime = websocket.app.state.runtime
    stored: tuple[str | None, str | None] | None = getattr(websocket.state, WS_CREDENTIALS, None)
    if stored is not None:
        return _resolve(runtime, None, stored[0], stored[1])
    token, _ = _offered(websocket)
    return _resolve(
        runtime,
        websocket.headers.get("authorization"),
        token,
        getattr(websocket.state, TLS_FINGERPRINT, None),
    )


async def _refuse(websocket: WebSocket, subprotocol: str | None, code: int, reason: str) -> None:
    # Accepted, then closed: a browser sees a close code and reason, never a refused
    # handshake's HTTP status.
    await websocket.accept(subprotocol)
    await websocket.close(code, reason)


async def authenticate_websocket(websocket: WebSocket) -> Principal | None:
    """Accept the stream as its principal, or close it with the reason and return None."""
    token, subprotocol = _offered(websocket)
    if "token" in websocket.query_params:
        await _refuse(
            websocket,
            subprotocol,
            CLOSE_BAD_REQUEST,
            'tokens in URLs are refused: send {"token": ...} first or use bearer.<token>',
        )
        return None
    fingerprint: str | None = getattr(websocket.state, TLS_FINGERPRINT, None)
    authorization = websocket.headers.get("authorization")
    if authorization or token or fingerprint:
        try:
            principal = websocket_principal(websocket)
        except HTTPException as exc:
            await _refuse(websocket, subprotocol, CLOSE_UNAUTHORISED, str(exc.detail))
            return None
        if authorization:
            token = authorization.partition(" ")[2].strip()
        setattr(websocket.state, WS_CREDENTIALS, (token, fingerprint))
        await websocket.accept(subprotocol)
        return principal
    await websocket.accept(subprotocol)
    return await _first_message_sign_in(websocket)


async def _first_message_sign_in(websocket: WebSocket) -> Principal | None:
    runtime: Runtime = websocket.app.state.runtime
    try:
        async with asyncio.timeout(SIGN_IN_TIMEOUT):
            text = await websocket.receive_text()
    except TimeoutError:
        await websocket.close(
            CLOSE_UNAUTHORISED, 'sign in first: {"token": "..."}, or {} to stay anonymous'
        )
        return None
    except (WebSocketDisconnect, RuntimeError, KeyError):
        return None  # gone before signing in (KeyError: a binary frame has no text)
    try:
        message = json.loads(text)
    except ValueError:
        message = None
    token = message.get("token") if isinstance(message, dict) else None
    if not isinstance(message, dict) or not isinstance(token, str | None):
        await websocket.close(CLOSE_BAD_REQUEST, 'the first message must be {"token": "..."}')
        return None
    try:
        principal = _resolve(runtime, None, token or None, None)
    except HTTPException as exc:
        await websocket.close(CLOSE_UNAUTHORISED, str(exc.detail))
        return None
    setattr(websocket.state, WS_CREDENTIALS, (token or None, None))
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require_role(principal: Principal, *roles: str) -> None:
    if not any(principal.has_role(role) for role in roles):
        raise HTTPException(403, f"requires one of the roles: {', '.join(roles)}")

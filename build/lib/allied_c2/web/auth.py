"""Who is calling the HTTP API: bearer token, client certificate, or anonymous."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, HTTPException, Request, WebSocket

from allied_c2.security.principals import Principal

if TYPE_CHECKING:
    from allied_c2.app import Runtime

TLS_FINGERPRINT = "tls_client_fingerprint"


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


def websocket_principal(websocket: WebSocket) -> Principal:
    runtime: Runtime = websocket.app.state.runtime
    return _resolve(
        runtime,
        websocket.headers.get("authorization"),
        websocket.query_params.get("token"),
        None,
    )


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require_role(principal: Principal, *roles: str) -> None:
    if not any(principal.has_role(role) for role in roles):
        raise HTTPException(403, f"requires one of the roles: {', '.join(roles)}")

"""A database that cannot be reached answers 503 with Retry-After, never 500.

Any API route may reach the store: a bearer token is resolved there before the route
runs, and requests, reports and history live there. While the database cannot be
reached (PostgreSQL stopped, restarting or cut off; a SQLite file on a full disk or
locked past its busy timeout) the driver raises SQLAlchemy's ``OperationalError``.
Unhandled, that is a 500 Internal Server Error, which says the server is broken and
tells no client to come back. RFC 9110 §15.6.4: 503 is "currently unable to handle
the request due to a temporary overload or scheduled maintenance, which will likely
be alleviated after some delay", with ``Retry-After`` saying when (§10.2.3).

The single-node server already refuses changes early while its history writer finds
the database away (web/guards.py, web/requests.py); in a cluster only the history
lease holder writes history, so the other nodes learn it here, from the first call
that fails. Nothing was stored by a call that failed so: the words say so.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError

from allied_c2.web.guards import DATABASE_AWAY, DATABASE_RETRY_AFTER_S

# Refusals are logged on the rate-limited connection logger (logs.py), with the peer.
log = logging.getLogger("allied_c2.connection")


def install(app: FastAPI) -> None:
    app.add_exception_handler(OperationalError, _database_away)


async def _database_away(request: Request, exc: Exception) -> JSONResponse:
    peer = request.client.host if request.client else "-"
    reason = str(getattr(exc, "orig", exc)).splitlines()[0][:200]
    log.warning(
        "503 %s %s for %s: database away (%s)", request.method, request.url.path, peer, reason
    )
    stats = getattr(getattr(request.app.state.runtime, "hub", None), "stats", None)
    if stats is not None:
        stats.refuse("database_away")
    return JSONResponse(
        {"detail": DATABASE_AWAY},
        status_code=503,
        headers={"Retry-After": str(DATABASE_RETRY_AFTER_S)},
    )

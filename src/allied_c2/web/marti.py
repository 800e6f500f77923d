"""The few Marti (TAK Server) HTTP calls that ATAK, WinTAK and iTAK make after connecting.

Clients ask for the server's version and the list of connected contacts; they
work without these, but log errors and hide features. Only the read-only calls
are answered here; channels, files, missions and the rest are in web/marti_*.py.
The contact list is filtered like everything else: a contact is listed only
when the caller may see everything that contact sent this session.
"""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse

from allied_c2 import __version__
from allied_c2.web.auth import CurrentPrincipal, runtime_of
from allied_c2.web.federation import federated_end_points

router = APIRouter(prefix="/Marti/api", include_in_schema=False)

NODE_ID = socket.gethostname()
SERVER_VERSION = f"allied-c2-{__version__}"


@router.get("/version")
def version() -> PlainTextResponse:
    return PlainTextResponse(SERVER_VERSION)


@router.get("/version/config")
def version_config(request: Request) -> dict[str, Any]:
    # The official server's shape (TS VersionApi; tak-server-api.md §6): ATAK checks
    # `type` and reads `data.version`.
    return {
        "version": "3",
        "type": "ServerConfig",
        "data": {"version": SERVER_VERSION, "api": "3", "hostname": request.url.hostname},
        "messages": [],
        "nodeId": NODE_ID,
    }


@router.get("/clientEndPoints")
async def client_end_points(request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    # async: it runs on the event loop, since it walks the relay's live connections
    runtime = runtime_of(request)
    hub = runtime.hub
    reader = hub.reader_for(principal)
    now = datetime.now(UTC)
    contacts: list[dict[str, Any]] = []
    for peer in hub.peers():
        if peer.uid is None:
            continue
        # A contact's existence is as sensitive as the most restrictive item it
        # sent this session (never the default marking: fail closed).
        marking = hub.contact_marking(peer)
        if marking is None or not hub.audience.allows(marking, reader):
            continue
        entry = hub.picture.get(peer.uid)
        if entry is not None and not hub.sees(entry, reader):
            continue
        last = entry.event.time if entry is not None else now
        contacts.append(
            {
                "callsign": peer.callsign or peer.uid,
                "uid": peer.uid,
                "username": peer.principal.callsign,
                "lastEventTime": last.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
                "lastStatus": "Connected",
            }
        )
    # Federated servers' contacts, as far as what they sent is releasable to the reader.
    contacts += federated_end_points(runtime, reader)
    return {
        "version": "3",
        "type": "com.bbn.marti.remote.ClientEndpoint",
        "data": sorted(contacts, key=lambda c: str(c["callsign"])),
        "nodeId": NODE_ID,
    }

"""TAK channels: ``GET /Marti/api/groups/all`` and ``PUT /Marti/api/groups/active``.

Shapes follow the official TAK Server (shared reference tak-server-api.md §5,
``GroupsApi``, ``SubscriptionApi``): each group the caller is in is listed once
per direction (``IN`` = writes, ``OUT`` = reads) with a ``bitpos``; ATAK lists
the OUT groups as channels and, on a toggle, PUTs the whole list with
``active`` flags for its ``clientUid``. A client may switch its own groups off
(and on again), never join one: the server-side membership decides. Answering
a read never sends ``t-x-g-c`` (CloudTAK #1384: a client re-reading on it loops).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from allied_c2.security.audience import is_identified
from allied_c2.security.groups import Channels
from allied_c2.web.auth import CurrentPrincipal, runtime_of
from allied_c2.web.marti import NODE_ID

log = logging.getLogger("allied_c2.web")

router = APIRouter(prefix="/Marti/api/groups", include_in_schema=False)

GROUP_TYPE = "com.bbn.marti.remote.groups.Group"
# The official server stamps each group with the day it was first seen; ours are
# configuration, so they carry the day the server started.
_STARTED = datetime.now(UTC).strftime("%Y-%m-%d")


def _listing(names: list[str], channels: Channels, active: Channels | None) -> list[dict[str, Any]]:
    bitpos = {name: index for index, name in enumerate(names)}
    out: list[dict[str, Any]] = []
    for direction, groups, selected in (
        ("IN", channels.writes, active.writes if active else None),
        ("OUT", channels.reads, active.reads if active else None),
    ):
        for name in sorted(groups):
            out.append(
                {
                    "name": name,
                    "direction": direction,
                    "created": _STARTED,
                    "type": "SYSTEM",
                    "bitpos": bitpos.get(name, 0),
                    "active": selected is None or name in selected,
                    "description": "",
                }
            )
    return out


@router.get("/all")
async def groups_all(
    request: Request, principal: CurrentPrincipal, clientUid: str | None = None
) -> dict[str, Any]:
    identities = runtime_of(request).hub.identities
    channels = identities.channels(principal)
    uid = clientUid
    if uid is None:  # ATAK asks without a clientUid: show its bound connection's choice
        uid = next(iter(sorted(runtime_of(request).hub.reader_for(principal).uids)), None)
    return {
        "version": "3",
        "type": GROUP_TYPE,
        "data": _listing(identities.group_names(), channels, identities.active(uid)),
        "messages": [],
        "nodeId": NODE_ID,
    }


@router.get("/groupCacheEnabled")
def group_cache_enabled() -> dict[str, Any]:
    return {"version": "3", "type": "java.lang.Boolean", "data": False, "nodeId": NODE_ID}


class ActiveGroup(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str = Field(max_length=64)
    direction: str = Field(pattern="^(IN|OUT)$")
    active: bool = True


@router.put("/active")
async def groups_active(
    request: Request,
    principal: CurrentPrincipal,
    body: list[ActiveGroup],
    clientUid: str | None = None,
) -> Response:
    """Switch the caller's groups on or off for one of its connected clients."""
    if len(body) > 1024:
        raise HTTPException(422, "too many groups")
    if not clientUid:
        raise HTTPException(400, "clientUid is required")
    hub = runtime_of(request).hub
    # Only the principal whose connection bound the uid may choose for it.
    if not is_identified(principal) or clientUid not in hub.reader_for(principal).uids:
        raise HTTPException(403, "clientUid is not a connection of the caller")
    mine = hub.identities.channels(principal)
    current = hub.identities.active(clientUid) or mine
    writes, reads = set(current.writes), set(current.reads)
    for group in body:
        chosen = writes if group.direction == "IN" else reads
        if group.active:
            chosen.add(group.name)
        else:
            chosen.discard(group.name)
    active = mine.narrowed(Channels(frozenset(writes), frozenset(reads)))
    hub.identities.set_active(clientUid, active)
    log.info(
        "%s (%s) switched groups: in=%s out=%s",
        principal.callsign,
        clientUid,
        sorted(active.writes),
        sorted(active.reads),
    )
    peer = hub.names.owner_of_uid(clientUid)
    refilter = getattr(peer, "refilter", None)
    if refilter is not None:  # ATAK cleared this server's items: send what it now reads
        refilter(hub.picture_uids(datetime.now(UTC)))
    return Response(status_code=200)

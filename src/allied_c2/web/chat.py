"""GeoChat on the web: ``POST /api/v1/chat``, ``GET /api/v1/chat`` and live chat messages.

A message from the page is the ``b-t-f`` ATAK sends (cot/geochat.py), ingested
as the signed-in principal (web/originate.py), so it reaches TAK clients, history
and other web views by the server's addressing and release rules: a direct
message is as private from the web as from ATAK. TAK users' messages reach the
page from history (``GET``, through ``history_views.visible_rows``) and live
through the hub's outlet, each view deciding with ``Hub.audience.decide`` for its
principal's reader, addressing and origin included.
"""

from __future__ import annotations

import asyncio
import weakref
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from allied_c2.cot.addressing import ALL_CHAT_ROOMS
from allied_c2.cot.event import CotEvent
from allied_c2.cot.geochat import CHAT_TYPE, TEAMS, ChatTarget, chat_event, chat_fields, is_message
from allied_c2.security.display import marking_json
from allied_c2.security.markings import Marking
from allied_c2.security.principals import Principal
from allied_c2.server.history_views import visible_rows
from allied_c2.server.peers import Accepted
from allied_c2.web.auth import CurrentPrincipal, runtime_of
from allied_c2.web.items import banner_of
from allied_c2.web.originate import chosen_marking, marked, require_identified, send, web_uid
from allied_c2.web.xmltext import XmlText

if TYPE_CHECKING:
    from allied_c2.app import Runtime
    from allied_c2.server.hub import Hub

router = APIRouter(prefix="/api/v1")
MAX_TEXT = 4096


class ChatBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Both go into the GeoChat's XML: refused (422) when XML cannot carry them.
    to: XmlText = Field(ALL_CHAT_ROOMS, min_length=1, max_length=200)
    text: XmlText = Field(min_length=1, max_length=MAX_TEXT)
    marking: str | None = Field(None, max_length=2000)


def chat_json(event: CotEvent, marking: Marking) -> dict[str, Any]:
    message = chat_fields(event)
    message["marking"] = marking_json(marking)
    return message


def target_for(hub: Hub, principal: Principal, to: str, now: datetime) -> ChatTarget:
    """All Chat Rooms, a team, or a contact the caller can see (by uid or callsign).

    A name that is neither a team nor a visible contact is taken as a callsign
    (a web user, or a TAK user not on the air): the server delivers it to whoever
    answers to that callsign, and to nobody else.
    """
    if to == ALL_CHAT_ROOMS:
        return ChatTarget.everyone()
    if to in TEAMS:
        return ChatTarget.team(to)
    for entry in hub.releasable_picture(principal, now):
        event = entry.event
        if event.type.startswith("a-") and to in (event.uid, event.callsign):
            return ChatTarget.contact(event.callsign or to, event.uid)
    return ChatTarget.contact(to, None)


@router.post("/chat", status_code=201)
async def post_chat(
    body: ChatBody, request: Request, principal: CurrentPrincipal
) -> dict[str, Any]:
    """Send a GeoChat message as the caller; answers the message as the page shows it."""
    require_identified(principal, "chat")
    runtime = runtime_of(request)
    hub = runtime.hub
    marking = chosen_marking(runtime, principal, body.marking)
    now = datetime.now(UTC)
    target = target_for(hub, principal, body.to.strip(), now)
    # Replies a TAK user addresses to the web session's uid come back to this principal.
    hub.identities.claim(principal, web_uid(principal), None, None)
    message = chat_event(web_uid(principal), principal.callsign, target, body.text, now)
    event = marked(message, marking)
    send(runtime, principal, event, now)
    return chat_json(event, marking.with_originator(principal.nation))


@router.get("/chat")
async def get_chat(
    request: Request,
    principal: CurrentPrincipal,
    since: str | None = None,
    limit: int = Query(500, ge=1, le=5000),
) -> dict[str, Any]:
    """The messages the caller may see (release and addressing), oldest first."""
    runtime = runtime_of(request)
    start = _parse_since(since)
    reader = runtime.hub.reader_for(principal)  # on the loop, beside the relay
    rows = await asyncio.to_thread(runtime.reader.of_type, CHAT_TYPE, start, None, limit)
    shown = await asyncio.to_thread(
        visible_rows, runtime.hub, rows, reader, runtime.config.max_event_bytes
    )
    messages = [(event, marking) for _, event, marking in shown if is_message(event)]
    return {
        "banner": banner_of([m for _, m in messages], runtime.policy),
        "messages": [chat_json(event, marking) for event, marking in messages],
    }


def _parse_since(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise HTTPException(422, "since: not an ISO 8601 time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class ChatViews:
    """The hub outlet that hands each accepted message to the live views that may read it."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    def __call__(self, accepted: Accepted) -> None:
        event = accepted.event
        if not is_message(event):
            return
        hub = self.hub
        listeners = hub.listeners()
        if not listeners:
            return
        message: dict[str, object] | None = None
        for listener in listeners:
            reader = hub.reader_for(listener.principal)
            decision = hub.audience.decide(
                accepted.marking, reader, accepted.addressing, accepted.origin
            )
            if decision.allowed:
                message = message or {"kind": "chat", "message": chat_json(event, accepted.marking)}
                listener.message(message)


_INSTALLED: weakref.WeakSet[Hub] = weakref.WeakSet()


def install(runtime: Runtime) -> None:
    """Subscribe the live chat views to the hub's outlet (once per hub)."""
    if runtime.hub not in _INSTALLED:
        runtime.hub.add_outlet(ChatViews(runtime.hub))
        _INSTALLED.add(runtime.hub)

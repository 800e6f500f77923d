"""The live picture over a WebSocket, filtered for the signed-in principal."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, HTTPException, WebSocket, WebSocketDisconnect

from allied_c2.security.principals import Principal
from allied_c2.server.picture import PictureEntry
from allied_c2.web.auth import websocket_principal
from allied_c2.web.items import item_json

if TYPE_CHECKING:
    from allied_c2.app import Runtime

router = APIRouter()

# A browser that cannot keep up is closed rather than buffered without end;
# it reconnects and gets a fresh snapshot.
QUEUE_LIMIT = 5000


class StreamListener:
    """Receives picture changes from the relay (in the loop) and queues them for one socket."""

    def __init__(self, principal: Principal) -> None:
        self.principal = principal
        self.queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(QUEUE_LIMIT)
        self.overflowed = False

    def _put(self, message: dict[str, Any]) -> None:
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            self.overflowed = True
            with contextlib.suppress(asyncio.QueueFull):
                self.queue.put_nowait(None)

    def item(self, entry: PictureEntry) -> None:
        self._put({"kind": "item", "item": item_json(entry.event, entry.marking)})

    def removed(self, uid: str, reason: str) -> None:
        self._put({"kind": "remove", "uid": uid, "reason": reason})

    def message(self, message: dict[str, Any]) -> None:
        """Other live updates (requests, readiness), already filtered by the caller."""
        self._put(message)


def principal_json(principal: Principal) -> dict[str, Any]:
    return {
        "callsign": principal.callsign,
        "nation": principal.nation,
        "clearance": principal.clearance,
        "cois": sorted(principal.cois),
        "roles": sorted(principal.roles),
        "organisation": principal.organisation,
    }


@router.websocket("/api/v1/stream")
async def stream(websocket: WebSocket) -> None:
    runtime: Runtime = websocket.app.state.runtime
    try:
        principal = websocket_principal(websocket)
    except HTTPException as exc:
        await websocket.close(code=4401, reason=str(exc.detail))
        return
    await websocket.accept()
    listener = StreamListener(principal)
    entries = runtime.hub.releasable_picture(principal, datetime.now(UTC))
    await websocket.send_json({"kind": "hello", "principal": principal_json(principal)})
    await websocket.send_json(
        {"kind": "snapshot", "items": [item_json(e.event, e.marking) for e in entries]}
    )
    runtime.hub.add_listener(listener)
    runtime.live_views.add(listener)
    receiver = asyncio.create_task(_drain_incoming(websocket))
    try:
        while True:
            getter = asyncio.ensure_future(listener.queue.get())
            done, _ = await asyncio.wait({getter, receiver}, return_when=asyncio.FIRST_COMPLETED)
            if receiver in done:
                getter.cancel()
                break
            message = getter.result()
            if message is None:
                await websocket.close(code=1013, reason="too far behind; reconnect")
                break
            await websocket.send_json(message)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        runtime.hub.remove_listener(listener)
        runtime.live_views.discard(listener)
        receiver.cancel()


async def _drain_incoming(websocket: WebSocket) -> None:
    """The stream is one-way; reading is how we notice the browser went away."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            await websocket.receive_text()

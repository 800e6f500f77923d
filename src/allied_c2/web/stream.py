"""The live picture over a WebSocket, filtered for the signed-in principal."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, HTTPException, WebSocket, WebSocketDisconnect

from allied_c2.security.principals import Principal
from allied_c2.server.picture import PictureEntry
from allied_c2.web.auth import authenticate_websocket, websocket_principal
from allied_c2.web.items import item_json

if TYPE_CHECKING:
    from allied_c2.app import Runtime
    from allied_c2.server.hub import Hub

router = APIRouter()

# A browser that cannot keep up is closed rather than buffered without end;
# it reconnects and gets a fresh snapshot.
QUEUE_LIMIT = 5000
# The socket's picture changes are sent together once per this many seconds (about
# three browser frames): one {"kind": "items"} message per batch, the newest report
# per uid, instead of one message per event. 5,000 tracks reporting once a second
# are then ~20 messages a second instead of 5,000.
BATCH_WINDOW = 0.05


# Closing codes in the application range (RFC 6455 §7.4.2): the page reconnects
# after 1013 and 4001, and shows "signed out" after 4403.
CLOSE_BEHIND = (1013, "too far behind; reconnect")
CLOSE_REVOKED = (4403, "credentials revoked or expired")

Reidentify = Callable[[], "Principal | None"]


class StreamListener:
    """Receives picture changes from the relay (in the loop) and queues them for one socket.

    It follows the directory: when the credentials it was opened with are
    revoked the socket is closed, and when its principal changes (clearance,
    nation, COIs) it is re-filtered at once: a new ``hello`` and a ``snapshot``
    of what the new principal may see replace everything the page holds.
    """

    def __init__(
        self,
        principal: Principal,
        hub: Hub | None = None,
        reidentify: Reidentify | None = None,
        *,
        batch_window: float = 0.0,
    ) -> None:
        self.principal = principal
        self.hub = hub
        self.reidentify = reidentify
        self.queue: asyncio.Queue[dict[str, Any] | tuple[int, str]] = asyncio.Queue(QUEUE_LIMIT)
        self.overflowed = False
        self.closed: tuple[int, str] | None = None
        # batch_window > 0: items wait here (newest per uid) and go out as one message.
        self.batch_window = batch_window
        self._pending: dict[str, PictureEntry] = {}
        self._timer: asyncio.TimerHandle | None = None

    def _put(self, message: dict[str, Any]) -> None:
        if self.closed is not None:
            return
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            self.overflowed = True
            self._close(CLOSE_BEHIND)

    def _close(self, why: tuple[int, str]) -> None:
        self.closed = why
        try:
            self.queue.put_nowait(why)
        except asyncio.QueueFull:
            # Make room for the close: what it displaces will never be sent anyway.
            with contextlib.suppress(asyncio.QueueEmpty):
                self.queue.get_nowait()
            self.queue.put_nowait(why)

    def item(self, entry: PictureEntry) -> None:
        if self.batch_window <= 0:
            self._put({"kind": "item", "item": item_json(entry.event, entry.marking)})
            return
        if self.closed is not None:
            return
        self._pending[entry.event.uid] = entry
        if self._timer is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # no loop (a test driving the listener directly): at once
                self.flush()
                return
            self._timer = loop.call_later(self.batch_window, self.flush)

    def flush(self) -> None:
        """Queue the pending items as one ``{"kind": "items"}`` message."""
        timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
        if not self._pending:
            return
        entries = list(self._pending.values())
        self._pending.clear()
        self._put({"kind": "items", "items": [item_json(e.event, e.marking) for e in entries]})

    def removed(self, uid: str, reason: str) -> None:
        self._pending.pop(uid, None)
        self.flush()  # what was decided before the removal is sent before it
        self._put({"kind": "remove", "uid": uid, "reason": reason})

    def message(self, message: dict[str, Any]) -> None:
        """Other live updates (requests, readiness, chat), already filtered by the caller."""
        self.flush()
        self._put(message)

    def stop(self) -> None:
        """The socket is gone: drop what is pending and its timer."""
        self._pending.clear()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def snapshot(self) -> dict[str, Any]:
        """What the principal may see of the picture now."""
        assert self.hub is not None
        entries = self.hub.releasable_picture(self.principal, datetime.now(UTC))
        return {"kind": "snapshot", "items": [item_json(e.event, e.marking) for e in entries]}

    def identity_changed(self) -> None:
        """Called on the event loop when the directory changed (service.py)."""
        if self.reidentify is None or self.closed is not None:
            return
        principal = self.reidentify()
        if principal is None:
            self._close(CLOSE_REVOKED)
        elif principal != self.principal:
            self.principal = principal
            # Whatever is queued or pending was filtered for the old principal: drop it.
            self.stop()
            while not self.queue.empty():
                self.queue.get_nowait()
            self._put({"kind": "hello", "principal": principal_json(principal)})
            self._put(self.snapshot())


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
    # Header, subprotocol, client certificate or first message; never the URL (auth.py).
    principal = await authenticate_websocket(websocket)
    if principal is None:
        return  # closed with the reason
    listener = StreamListener(
        principal, runtime.hub, _reidentifier(websocket), batch_window=BATCH_WINDOW
    )
    await websocket.send_json({"kind": "hello", "principal": principal_json(principal)})
    await websocket.send_json(listener.snapshot())
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
            if isinstance(message, tuple):
                await websocket.close(code=message[0], reason=message[1])
                break
            await websocket.send_json(message)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        runtime.hub.remove_listener(listener)
        runtime.live_views.discard(listener)
        listener.stop()
        receiver.cancel()


def _reidentify_with(websocket: WebSocket) -> Principal | None:
    """The principal the socket's credentials stand for now; None when revoked."""
    try:
        return websocket_principal(websocket)
    except HTTPException:
        return None


def _reidentifier(websocket: WebSocket) -> Reidentify:
    return lambda: _reidentify_with(websocket)


async def _drain_incoming(websocket: WebSocket) -> None:
    """The stream is one-way; reading is how we notice the browser went away."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            await websocket.receive_text()

"""The live picture over a WebSocket, filtered for the signed-in principal."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, HTTPException, WebSocket, WebSocketDisconnect

from allied_c2.security.principals import Principal
from allied_c2.server.picture import PictureEntry
from allied_c2.web.auth import authenticate_websocket, websocket_principal
from allied_c2.web.batches import BatchReady, ItemBatches
from allied_c2.web.flow import Credit
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
# What a socket's queue holds: a message, a close (code, reason) or a batch marker.
Queued = dict[str, Any] | tuple[int, str] | BatchReady


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
        self.queue: asyncio.Queue[Queued] = asyncio.Queue(QUEUE_LIMIT)
        self.overflowed = False
        self.closed: tuple[int, str] | None = None
        # batch_window > 0: changes wait (newest per uid) and go out as one message.
        self.batches = ItemBatches(batch_window, self._put) if batch_window > 0 else None

    def _put(self, message: Queued) -> None:
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
        if self.batches is None:
            self._put({"kind": "item", "item": item_json(entry.event, entry.marking)})
        elif self.closed is None:
            self.batches.add(entry)

    def resolve(self, queued: Queued) -> dict[str, Any] | tuple[int, str] | None:
        """What the socket sends for a queue entry (a batch marker becomes its batch)."""
        if isinstance(queued, BatchReady):
            return self.batches.take() if self.batches is not None else None
        return queued

    def _seal(self) -> None:
        """Queue what is pending now, so that the next message comes after it."""
        if self.batches is not None and (batch := self.batches.seal()) is not None:
            self._put(batch)

    def removed(self, uid: str, reason: str) -> None:
        if self.batches is not None:
            self.batches.drop(uid)
            self._seal()
        self._put({"kind": "remove", "uid": uid, "reason": reason})

    def message(self, message: dict[str, Any]) -> None:
        """Other live updates (requests, readiness, chat), already filtered by the caller."""
        self._seal()
        self._put(message)

    def stop(self) -> None:
        """The socket is gone (or re-filtered): drop what is pending and its timer."""
        if self.batches is not None:
            self.batches.clear()

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
    credit = Credit()
    receiver = asyncio.create_task(_drain_incoming(websocket, credit))
    try:
        while True:
            getter = asyncio.ensure_future(listener.queue.get())
            done, _ = await asyncio.wait({getter, receiver}, return_when=asyncio.FIRST_COMPLETED)
            if receiver in done:
                getter.cancel()
                break
            queued = getter.result()
            if isinstance(queued, BatchReady) and not await _credit(credit, receiver):
                break  # gone while it was behind
            message = listener.resolve(queued)
            if message is None:
                continue  # a batch marker whose items were sent before a removal
            if isinstance(message, dict) and message.get("kind") == "items":
                credit.stamp(message)
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


async def _credit(credit: Credit, receiver: asyncio.Task[None]) -> bool:
    """Wait while the page has WINDOW batches unacknowledged; False if it went away."""
    if not credit.blocked:
        return True
    waiter = asyncio.ensure_future(credit.wait())
    done, _ = await asyncio.wait({waiter, receiver}, return_when=asyncio.FIRST_COMPLETED)
    if receiver in done:
        waiter.cancel()
        return False
    return True


async def _drain_incoming(websocket: WebSocket, credit: Credit) -> None:
    """Reading is how we notice the browser went away; it may acknowledge batches."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            text = await websocket.receive_text()
            try:
                message = json.loads(text) if len(text) < 256 else None
            except ValueError:
                continue  # the stream takes nothing else: ignore it
            if isinstance(message, dict) and "ack" in message:
                credit.ack(message["ack"])

"""Picture changes for one web socket, batched: one ``{"kind": "items"}`` message at a time.

With thousands of tracks reporting every second, one WebSocket message per event
would cost the browser more than drawing them. Changes wait here, the newest report
per uid, and the socket's writer is told (a :data:`READY` marker in its queue) a
batch window after the first one; it builds the message when it gets to the marker.
While the writer is busy sending (a slow browser), new reports replace older ones of
the same uid instead of queueing behind them: the page falls behind by at most one
batch, never by a backlog, and memory is bounded by the number of tracks.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Final

from allied_c2.server.picture import PictureEntry
from allied_c2.web.items import item_json


class BatchReady:
    """The queue marker: a batch of items is waiting (built when the writer takes it)."""

    def __repr__(self) -> str:
        return "READY"


READY: Final = BatchReady()


class ItemBatches:
    __slots__ = ("_enqueue", "_outstanding", "_pending", "_timer", "window")

    def __init__(self, window: float, enqueue: Callable[[BatchReady], None]) -> None:
        self.window = window
        self._enqueue = enqueue
        self._pending: dict[str, PictureEntry] = {}
        self._outstanding = False  # a READY marker is in the queue, not yet taken
        self._timer: asyncio.TimerHandle | None = None

    def add(self, entry: PictureEntry) -> None:
        self._pending[entry.event.uid] = entry
        if self._outstanding or self._timer is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop (a test driving a listener directly): at once
            self._signal()
            return
        self._timer = loop.call_later(self.window, self._signal)

    def drop(self, uid: str) -> None:
        self._pending.pop(uid, None)

    def _signal(self) -> None:
        self._timer = None
        if self._pending and not self._outstanding:
            self._outstanding = True
            self._enqueue(READY)

    def take(self) -> dict[str, Any] | None:
        """The writer reached the marker: the batch as it stands now (None if emptied)."""
        self._outstanding = False
        return self.seal()

    def seal(self) -> dict[str, Any] | None:
        """The pending items as a message now, for a message that must come after them."""
        if not self._pending:
            return None
        entries = list(self._pending.values())
        self._pending.clear()
        return {"kind": "items", "items": [item_json(e.event, e.marking) for e in entries]}

    def clear(self) -> None:
        self._pending.clear()
        self._outstanding = False
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

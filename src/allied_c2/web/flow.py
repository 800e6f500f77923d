"""Flow control for the picture on a web socket: a page acknowledges each batch it took.

A busy browser reads its socket long after it has fallen behind: the browser's own
network buffers keep the server's socket writable, so TCP back-pressure never tells
the server to wait, and a page drawing thousands of tracks on a slow machine would
show a picture that is ever more seconds old. A page that acknowledges (``{"ack":
seq}`` for each ``{"kind": "items", "seq": …}``) has at most :data:`WINDOW` batches
in flight; while it is behind, reports keep coalescing on the server (newest per
uid, web/batches.py), so what it gets next is the picture as it is now. A client
that never acknowledges is never held back (flow control starts with its first ack).
"""

from __future__ import annotations

import asyncio
from typing import Any

WINDOW = 2


class Credit:
    __slots__ = ("_changed", "acked", "on", "sent")

    def __init__(self) -> None:
        self.sent = 0
        self.acked = 0
        self.on = False
        self._changed = asyncio.Event()

    def stamp(self, message: dict[str, Any]) -> None:
        """Number an items batch as it is sent."""
        self.sent += 1
        message["seq"] = self.sent

    def ack(self, seq: object) -> None:
        if isinstance(seq, int) and not isinstance(seq, bool) and 0 <= seq <= self.sent:
            self.on = True
            self.acked = max(self.acked, seq)
            self._changed.set()

    @property
    def blocked(self) -> bool:
        return self.on and self.sent - self.acked >= WINDOW

    async def wait(self) -> None:
        """Until the page has fewer than WINDOW batches unacknowledged."""
        while self.blocked:
            # Cleared only right after the check, with no await between: an ack that
            # arrives from now on wakes us.
            self._changed.clear()
            await self._changed.wait()

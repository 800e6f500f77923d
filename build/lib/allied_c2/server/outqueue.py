"""A client's outgoing queue: bounded, coalescing, never blocking the relay.

Normally a client's bytes are written out once per event-loop turn, so the
queue is short-lived. When the client stops reading (its transport asks us to
pause writing) the queue grows; past its bounds it *coalesces*: position
updates for the same uid replace each other, because only the newest position
matters to a receiver that is behind. Items that carry meaning on their own
(chat, disconnect notices, drawings) are never coalesced; if those alone
exceed the bound the client is too far behind and must be disconnected.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass


@dataclass(slots=True)
class QueueStats:
    coalesced: int = 0  # items replaced by a newer one for the same uid


class Overflow(Exception):
    """The client is too far behind: even after coalescing the queue is over its bound."""


class OutQueue:
    """Pending wire bytes for one client, in order.

    ``key`` is the uid for coalescable items (positions), ``None`` otherwise.
    """

    __slots__ = ("_bytes", "_items", "max_bytes", "max_items", "stats")

    def __init__(self, max_items: int, max_bytes: int) -> None:
        self._items: deque[tuple[str | None, bytes]] = deque()
        self._bytes = 0
        self.max_items = max_items
        self.max_bytes = max_bytes
        self.stats = QueueStats()

    def __len__(self) -> int:
        return len(self._items)

    @property
    def nbytes(self) -> int:
        return self._bytes

    def push(self, key: str | None, data: bytes) -> None:
        """Append; coalesce when over a bound; raise :class:`Overflow` if that is not enough."""
        self._items.append((key, data))
        self._bytes += len(data)
        if len(self._items) > self.max_items or self._bytes > self.max_bytes:
            self._coalesce()
            if len(self._items) > self.max_items or self._bytes > self.max_bytes:
                raise Overflow(
                    f"{len(self._items)} items / {self._bytes} bytes pending after coalescing"
                )

    def drain(self) -> bytes:
        """Everything pending as one buffer (one write, one syscall), and empty the queue."""
        if not self._items:
            return b""
        if len(self._items) == 1:
            data = self._items[0][1]
        else:
            data = b"".join([item[1] for item in self._items])
        self._items.clear()
        self._bytes = 0
        return data

    def _coalesce(self) -> None:
        # Keep the newest item of each uid, at the position of that newest item,
        # so the relative order of what survives is unchanged.
        newest: dict[str, int] = {}
        for index, (key, _) in enumerate(self._items):
            if key is not None:
                newest[key] = index
        kept: deque[tuple[str | None, bytes]] = deque()
        size = 0
        for index, item in enumerate(self._items):
            key = item[0]
            if key is None or newest[key] == index:
                kept.append(item)
                size += len(item[1])
        self.stats.coalesced += len(self._items) - len(kept)
        self._items = kept
        self._bytes = size

"""Which events this node has already applied: live and replayed copies meet here.

Live events arrive on core NATS subscriptions (at most once, in each publisher's
order); after a NATS reconnect the node replays the stream to fill the gap, and a
publisher sends an event again when its ack was lost. Both make copies. Each event
carries its accepting run and serial (``boot``, ``n``: the same pair as its
``Nats-Msg-Id``), and this window drops a copy of anything applied within ``span``
seconds of the newest event applied. Nothing is forgotten while nothing arrives (a
disconnected node keeps what it saw last), so a replay that starts a little before
the disconnect finds its overlap here.
"""

from __future__ import annotations

from collections import deque


class SeenWindow:
    def __init__(self, span: float = 60.0, limit: int = 200_000) -> None:
        self.span = span
        self.limit = limit  # a hard bound on memory whatever the rate (~100 B each)
        self._order: deque[tuple[float, tuple[str, int]]] = deque()
        self._ids: set[tuple[str, int]] = set()

    def __len__(self) -> int:
        return len(self._ids)

    def first(self, key: tuple[str, int], now: float) -> bool:
        """True the first time ``key`` is seen (then remembered); False for a copy."""
        if key in self._ids:
            return False
        self._ids.add(key)
        order = self._order
        order.append((now, key))
        cutoff = now - self.span
        while order and (order[0][0] < cutoff or len(order) > self.limit):
            self._ids.discard(order.popleft()[1])
        return True

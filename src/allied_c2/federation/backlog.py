"""A link's bounded outbound queue (pure).

Items wait here while the link is down or the peer reads slowly. The bound is
``federation_backlog_max`` items (config.py). Past it, the oldest *position
update* goes first (a CoT ``a-*`` report: a newer one of the same unit follows,
or the unit is stale soon, as the client queues coalesce in server/outqueue.py);
only when none is queued does the oldest item of another kind go. Every drop is
counted by kind so the link's status and the log can say so.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


def is_position(cot_type: str) -> bool:
    return cot_type.startswith("a-")


@dataclass(slots=True)
class Dropped:
    positions: int = 0
    others: int = 0

    @property
    def total(self) -> int:
        return self.positions + self.others


class Backlog(Generic[T]):
    """FIFO of items with their CoT type; ``push`` returns how many it dropped."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("the backlog limit must be at least 1")
        self.limit = limit
        self._items: OrderedDict[int, tuple[T, bool]] = OrderedDict()
        self._positions: deque[int] = deque()  # seqs of queued position updates, oldest first
        self._next = 0
        self._head = -1  # seqs for items put back in front count down from here
        self.dropped = Dropped()

    def __len__(self) -> int:
        return len(self._items)

    def __bool__(self) -> bool:
        return bool(self._items)

    def push(self, item: T, cot_type: str) -> int:
        seq = self._next
        self._next += 1
        position = is_position(cot_type)
        self._items[seq] = (item, position)
        if position:
            self._positions.append(seq)
        return self._trim()

    def push_front(self, items: Iterable[tuple[T, str]]) -> int:
        """Put items back before everything queued (in their order): a resend after a drop."""
        batch = list(items)
        for item, cot_type in reversed(batch):
            seq = self._head
            self._head -= 1
            position = is_position(cot_type)
            self._items[seq] = (item, position)
            self._items.move_to_end(seq, last=False)
            if position:
                self._positions.appendleft(seq)
        return self._trim()

    def pop(self, limit: int) -> list[T]:
        out: list[T] = []
        while self._items and len(out) < limit:
            _, (item, _) = self._items.popitem(last=False)
            out.append(item)
        if not self._items:
            self._positions.clear()
        return out

    def items(self) -> list[T]:
        return [item for item, _ in self._items.values()]

    def replace(self, items: Iterable[tuple[T, str]]) -> None:
        """Refill with ``items`` in order (after the guard re-decided what waits)."""
        self._items.clear()
        self._positions.clear()
        for item, cot_type in items:
            self.push(item, cot_type)

    def _trim(self) -> int:
        dropped = 0
        while len(self._items) > self.limit:
            victim = None
            while self._positions:
                seq = self._positions.popleft()
                if seq in self._items:
                    victim = seq
                    break
            if victim is not None:
                del self._items[victim]
                self.dropped.positions += 1
            else:
                self._items.popitem(last=False)
                self.dropped.others += 1
            dropped += 1
        return dropped

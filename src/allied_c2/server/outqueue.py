"""A client's outgoing queue: bounded, coalescing, never blocking the relay.

Normally a client's bytes are written out once per event-loop turn, so the
queue is short-lived. While the transport asks us to pause writing, bytes wait
here. When the queue passes its bounds, the client is behind and the queue
comes *under pressure*: from then on a position update replaces the pending
update for the same uid in place, because only the newest position matters to a receiver that
is behind. Each replacement costs one dictionary lookup, so a client that is
far behind costs the relay no more than one that keeps up. Items that carry
meaning on their own (chat, disconnect notices, drawings) are never coalesced;
if those alone exceed the bound the client is too far behind and must be
disconnected.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

Parts = Callable[[], list[tuple[str | None, bytes]]]


@dataclass(slots=True)
class QueueStats:
    coalesced: int = 0  # items replaced by a newer one for the same uid


class Overflow(Exception):
    """The client is too far behind: even after coalescing the queue is over its bound."""


class _Pending:
    """One queued item (or a joined batch of them); mutable so a newer update can
    replace it where it stands."""

    __slots__ = ("count", "data", "key", "parts")

    def __init__(
        self, key: str | None, data: bytes, parts: Parts | None = None, count: int = 1
    ) -> None:
        self.key = key
        self.data = data
        self.parts = parts  # a batch: how to split it into items, if coalescing needs to
        self.count = count


class OutQueue:
    """Pending wire bytes for one client, in order.

    ``key`` is the uid for coalescable items (positions), ``None`` otherwise.
    """

    __slots__ = (
        "_bytes",
        "_count",
        "_latest",
        "_pressure",
        "_slots",
        "max_bytes",
        "max_items",
        "stats",
    )

    def __init__(self, max_items: int, max_bytes: int) -> None:
        self._slots: list[_Pending] = []
        self._latest: dict[str, _Pending] = {}  # uid -> its pending item, under pressure
        self._bytes = 0
        self._count = 0  # items, counting each item of a batch
        self._pressure = False
        self.max_items = max_items
        self.max_bytes = max_bytes
        self.stats = QueueStats()

    def __len__(self) -> int:
        return self._count

    @property
    def nbytes(self) -> int:
        return self._bytes

    @property
    def under_pressure(self) -> bool:
        return self._pressure

    def pressure(self) -> None:
        """The client is behind: coalesce from now until the queue drains."""
        if not self._pressure:
            self._pressure = True
            self._coalesce()

    def push(self, key: str | None, data: bytes) -> None:
        """Append (or, under pressure, replace the same uid's pending update).

        Raises :class:`Overflow` when the queue is over a bound even after coalescing.
        """
        if self._pressure and key is not None:
            slot = self._latest.get(key)
            if slot is not None:
                self._bytes += len(data) - len(slot.data)
                slot.data = data
                self.stats.coalesced += 1
                return
        slot = _Pending(key, data)
        self._slots.append(slot)
        self._bytes += len(data)
        self._count += 1
        if self._pressure and key is not None:
            self._latest[key] = slot
        self._check_bounds()

    def push_batch(self, data: bytes, count: int, parts: Parts) -> None:
        """Append ``count`` items already joined into ``data``.

        The batch stays one buffer unless the queue has to coalesce; ``parts``
        splits it into items then. Raises :class:`Overflow` like :meth:`push`.
        """
        if self._pressure:
            self._merge(parts())
            return
        self._slots.append(_Pending(None, data, parts, count))
        self._bytes += len(data)
        self._count += count
        self._check_bounds()

    def _merge(self, items: list[tuple[str | None, bytes]]) -> None:
        """Under pressure: each position replaces its uid's pending one; the rest append."""
        latest = self._latest
        slots = self._slots
        coalesced = 0
        for key, data in items:
            if key is not None:
                slot = latest.get(key)
                if slot is not None:
                    self._bytes += len(data) - len(slot.data)
                    slot.data = data
                    coalesced += 1
                    continue
                slot = latest[key] = _Pending(key, data)
            else:
                slot = _Pending(None, data)
            slots.append(slot)
            self._bytes += len(data)
            self._count += 1
        self.stats.coalesced += coalesced
        self._check_bounds()

    def _check_bounds(self) -> None:
        if self._count > self.max_items or self._bytes > self.max_bytes:
            self.pressure()
            if self._count > self.max_items or self._bytes > self.max_bytes:
                raise Overflow(
                    f"{self._count} items / {self._bytes} bytes pending after coalescing"
                )

    def drain(self) -> bytes:
        """Everything pending as one buffer (one write, one syscall); the queue empties."""
        slots = self._slots
        if not slots:
            return b""
        data = slots[0].data if len(slots) == 1 else b"".join([slot.data for slot in slots])
        self._slots = []
        self._latest.clear()
        self._bytes = 0
        self._count = 0
        self._pressure = False
        return data

    def _coalesce(self) -> None:
        """Keep the newest pending update of each uid, where the newest one stood."""
        slots: list[_Pending] = []
        for slot in self._slots:
            if slot.parts is None:
                slots.append(slot)
            else:
                slots.extend(_Pending(key, data) for key, data in slot.parts())
        newest: dict[str, int] = {}
        for index, slot in enumerate(slots):
            if slot.key is not None:
                newest[slot.key] = index
        kept: list[_Pending] = []
        self._latest.clear()
        size = 0
        for index, slot in enumerate(slots):
            key = slot.key
            if key is None or newest[key] == index:
                kept.append(slot)
                size += len(slot.data)
                if key is not None:
                    self._latest[key] = slot
        self.stats.coalesced += len(slots) - len(kept)
        self._slots = kept
        self._bytes = size
        self._count = len(kept)

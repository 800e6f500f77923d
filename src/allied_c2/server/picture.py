"""The operational picture: the latest non-stale item per uid.

It is what a newly connected client is sent at once (catch-up), what the web
COP's snapshot shows and what comes back after a restart (rebuilt from
history). Release filtering happens at the exits, not here: the picture holds
every item with its marking and addressing, and each reader sees what the
audience decision (security/audience.py) allows it.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from allied_c2.cot.addressing import PUBLIC, Addressing
from allied_c2.cot.event import CotEvent
from allied_c2.security.audience import NO_ORIGIN, Origin
from allied_c2.security.markings import Marking


@dataclass(slots=True)
class PictureEntry:
    event: CotEvent
    marking: Marking
    sender: str | None  # callsign of the principal that sent it
    # Who the item is meant for (an addressed marker is not the whole picture's):
    # every reader of the picture passes these to the audience decision.
    addressing: Addressing = PUBLIC
    origin: Origin = NO_ORIGIN


class Picture:
    __slots__ = ("_entries", "_expiry")

    def __init__(self) -> None:
        self._entries: dict[str, PictureEntry] = {}
        # (stale, uid) min-heap; entries are checked against the live dict when
        # popped, so replaced items need no removal from the heap.
        self._expiry: list[tuple[datetime, str]] = []

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, uid: str) -> bool:
        return uid in self._entries

    def get(self, uid: str) -> PictureEntry | None:
        return self._entries.get(uid)

    def update(
        self,
        event: CotEvent,
        marking: Marking,
        sender: str | None,
        addressing: Addressing = PUBLIC,
        origin: Origin = NO_ORIGIN,
    ) -> bool:
        """Keep ``event`` if it is newer than what we hold; True when the picture changed."""
        current = self._entries.get(event.uid)
        if current is not None and current.event.time > event.time:
            return False  # an older report arriving late must not move the item back
        replaced_stale = current.event.stale if current is not None else None
        self._entries[event.uid] = PictureEntry(event, marking, sender, addressing, origin)
        if replaced_stale != event.stale:
            heapq.heappush(self._expiry, (event.stale, event.uid))
        return True

    def remove(self, uid: str) -> PictureEntry | None:
        return self._entries.pop(uid, None)

    def expire(self, now: datetime) -> list[PictureEntry]:
        """Remove and return every item whose stale time has passed."""
        gone: list[PictureEntry] = []
        while self._expiry and self._expiry[0][0] <= now:
            _, uid = heapq.heappop(self._expiry)
            entry = self._entries.get(uid)
            if entry is not None and entry.event.stale <= now:
                del self._entries[uid]
                gone.append(entry)
        if len(self._expiry) > 4 * len(self._entries) + 1024:
            self._expiry = [(e.event.stale, uid) for uid, e in self._entries.items()]
            heapq.heapify(self._expiry)
        return gone

    def current(self, now: datetime) -> Iterator[PictureEntry]:
        """Entries not yet stale at ``now``, oldest report first (as a catch-up replays them)."""
        live = [e for e in self._entries.values() if e.event.stale > now]
        live.sort(key=lambda e: e.event.time)
        return iter(live)

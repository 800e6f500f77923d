"""What the relay deals with: its clients, its live views, and the records it passes on.

Kept apart from the hub so that the links that subscribe to it (the history,
the federation, later the cluster bus) and the I/O edges can name these types
without importing the relay itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from allied_c2.cot.addressing import Addressing
from allied_c2.cot.event import CotEvent, WireFormat
from allied_c2.security.audience import Origin
from allied_c2.security.markings import Marking
from allied_c2.security.principals import Principal

if TYPE_CHECKING:
    from allied_c2.server.fanout import Broadcast
    from allied_c2.server.picture import PictureEntry

AuditSink = Callable[[str, str, str, dict[str, object]], None]  # actor, action, subject, detail
HistorySink = Callable[[CotEvent, Marking, Principal, datetime], None]


class Peer(Protocol):
    """What the relay needs of a connected stream client."""

    principal: Principal
    uid: str | None
    callsign: str | None
    group_name: str | None
    peer_name: str

    @property
    def output_format(self) -> WireFormat: ...

    def send(self, key: str | None, event: CotEvent) -> None: ...

    def begin_catch_up(self, uids: list[str]) -> None: ...

    def deliver(self, data: bytes, items: list[Broadcast]) -> None: ...

    def close(self, reason: str, detail: str) -> None: ...


class PictureListener(Protocol):
    """A live view of the picture (the web COP's WebSocket)."""

    principal: Principal

    def item(self, entry: PictureEntry) -> None: ...

    def removed(self, uid: str, reason: str) -> None: ...

    def message(self, message: dict[str, object]) -> None: ...

    def identity_changed(self) -> None:
        """The directory changed: follow it (closed when revoked, re-filtered when changed)."""


class Refusal(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass(slots=True)
class Accepted:
    """An event the hub accepted, as it leaves through the outlets (the one seam).

    The history, and later the cluster bus and federation links, subscribe here
    rather than re-implementing routing: each carries the addressing and origin
    with the event, and each delivering edge decides its own audience.
    """

    event: CotEvent
    marking: Marking
    addressing: Addressing
    origin: Origin
    sender: Principal
    at: datetime


Outlet = Callable[[Accepted], None]


@dataclass(slots=True)
class Restored:
    """One history row to rebuild the picture from."""

    event: CotEvent
    marking: Marking
    sender: str | None  # the sending principal's name
    originator: str | None  # its nation; None for anonymous and server-made items

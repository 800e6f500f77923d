"""Stored events read back through the audience decision (history API, CLI, restore).

A history row holds the event's canonical XML, its marking attributes, the
originating nation and the sending principal. Reading one back recovers what
live ingest knew: the marking with its originator, and the addressing from the
event itself, so a row is shown to exactly whom the live item could reach. A
row that cannot be parsed or whose marking is no longer valid is never shown
(fail closed).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Protocol, TypeVar

from allied_c2.cot.addressing import addressing_of
from allied_c2.cot.errors import CotError
from allied_c2.cot.event import CotEvent
from allied_c2.cot.xmlcodec import parse_xml
from allied_c2.security.audience import Reader
from allied_c2.security.markings import Marking, MarkingError, marking_from_cot
from allied_c2.server.hub import Hub
from allied_c2.server.peers import Restored

log = logging.getLogger(__name__)


class StoredRow(Protocol):
    """What the reader needs of a history row (``store.events.EventRecordRow``)."""

    @property
    def uid(self) -> str: ...
    @property
    def access(self) -> str | None: ...
    @property
    def caveat(self) -> str | None: ...
    @property
    def releasable_to(self) -> str | None: ...
    @property
    def originator(self) -> str | None: ...
    @property
    def sender(self) -> str | None: ...
    @property
    def xml(self) -> bytes: ...


def _marking(row: StoredRow, hub: Hub) -> Marking:
    return marking_from_cot(
        row.access, row.caveat, row.releasable_to, hub.policy, default=hub.default_marking
    ).with_originator(row.originator)


def restored(row: StoredRow, hub: Hub, max_bytes: int) -> Restored | None:
    """A row as the hub knew the item when it was accepted; None if unusable."""
    try:
        marking = _marking(row, hub)
        event = parse_xml(row.xml, max_bytes=max_bytes)
    except (CotError, MarkingError) as exc:
        log.warning("history row for %s not usable: %s", row.uid, exc)
        return None
    return Restored(event, marking, row.sender, row.originator)


R = TypeVar("R", bound=StoredRow)


def visible_rows(
    hub: Hub, rows: Iterable[R], reader: Reader, max_bytes: int
) -> list[tuple[R, CotEvent, Marking]]:
    """The rows ``reader`` may see, in order, through the one audience decision."""
    shown: list[tuple[R, CotEvent, Marking]] = []
    for row in rows:
        try:
            marking = _marking(row, hub)
            # The release half first: most rows a reader may not see stop here,
            # before their XML is parsed for the addressing half.
            if not hub.audience.public(marking, reader.principal).allowed:
                continue
            event = parse_xml(row.xml, max_bytes=max_bytes)
        except (CotError, MarkingError):
            continue  # never release what cannot be checked
        addressing = addressing_of(event)
        identified = row.originator is not None and row.sender is not None
        origin = hub.stored_origin(row.sender, identified, addressing)
        if hub.audience.allows(marking, reader, addressing, origin):
            shown.append((row, event, marking))
    return shown


def visible_history(
    hub: Hub, rows: Iterable[StoredRow], reader: Reader, max_bytes: int
) -> list[tuple[CotEvent, Marking]]:
    """The events and markings of :func:`visible_rows`."""
    return [(event, marking) for _, event, marking in visible_rows(hub, rows, reader, max_bytes)]

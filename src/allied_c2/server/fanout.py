"""Broadcasts collected over one event-loop turn and written once per audience.

A broadcast goes to every connected client the marking allows. Handing each
event to each client separately costs the relay per delivery; instead the hub
records the turn's broadcasts here, and at the end of the turn (or every
``FANOUT_SLICE`` events of a busy one, see connection.py) each audience (clients
with the same principal and wire format) gets the joined bytes of what it may
see: one join per audience, one write per client. A client that sent some of
the turn's events gets those bytes with its own events cut out; a client that
is behind (its transport paused, or a queue already waiting) takes the events
one by one into its queue, where positions coalesce.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import TYPE_CHECKING, Protocol

from allied_c2.cot.event import CotEvent, WireFormat
from allied_c2.security.decision import Decision
from allied_c2.security.groups import DEFAULT_GROUPS, shares_group
from allied_c2.security.markings import Marking
from allied_c2.security.principals import Principal

if TYPE_CHECKING:
    from allied_c2.server.peers import Peer


@dataclass(slots=True)  # not frozen: one per event, and frozen __init__ costs 4x
class Broadcast:
    event: CotEvent
    marking: Marking
    key: str | None  # uid when the item may coalesce with a newer one (a position)
    exclude: Peer | None  # the sender, who does not get its own event back
    groups: frozenset[str] = DEFAULT_GROUPS  # the sender's IN groups (security/groups.py)


class Receiver(Protocol):
    """What the fan-out needs of a client (a :class:`~allied_c2.server.hub.Peer`)."""

    @property
    def output_format(self) -> WireFormat: ...

    def deliver(self, data: bytes, items: list[Broadcast]) -> None: ...


class Fanout:
    __slots__ = ("_pending",)

    def __init__(self) -> None:
        self._pending: list[Broadcast] = []

    def __len__(self) -> int:
        return len(self._pending)

    def add(self, item: Broadcast) -> None:
        self._pending.append(item)

    def flush(
        self,
        audiences: Iterable[tuple[Principal, Collection[Receiver]]],
        decide: Callable[[Marking, Principal], Decision],
        reads: Sequence[frozenset[str] | None] | None = None,
    ) -> tuple[int, int]:
        """Deliver the turn's broadcasts; returns (deliveries, deliveries withheld).

        ``reads``, when groups are configured, holds each audience's groups read
        (None: every group, an auditor): an item goes only to audiences sharing
        one of the groups it was written to, on top of the release decision.
        """
        pending = self._pending
        if not pending:
            return 0, 0
        self._pending = []
        delivered = withheld = 0
        for index, (principal, receivers) in enumerate(audiences):
            if reads is None or (read := reads[index]) is None:
                allowed = [item for item in pending if decide(item.marking, principal).allowed]
            else:
                allowed = [
                    item
                    for item in pending
                    if shares_group(item.groups, read) and decide(item.marking, principal).allowed
                ]
            withheld += (len(pending) - len(allowed)) * len(receivers)
            if not allowed:
                continue
            own: dict[int, list[int]] = {}  # sender -> positions of its items in `allowed`
            for position, item in enumerate(allowed):
                if item.exclude is not None:
                    own.setdefault(id(item.exclude), []).append(position)
            joined: dict[WireFormat, _Joined] = {}
            for receiver in receivers:
                fmt = receiver.output_format
                batch = joined.get(fmt)
                if batch is None:
                    batch = joined[fmt] = _Joined(allowed, fmt)
                mine = own.get(id(receiver))
                if mine is None:
                    receiver.deliver(batch.data, allowed)
                    delivered += len(allowed)
                elif len(mine) < len(allowed):
                    items = [item for item in allowed if item.exclude is not receiver]
                    receiver.deliver(batch.without(mine), items)
                    delivered += len(items)
        return delivered, withheld


class _Joined:
    """One audience's broadcasts joined in one wire format, and cut around a sender's own.

    A sender's events in a turn are usually one run (it is read in one go), so
    its copy is two slices of the shared bytes rather than a join of hundreds.
    """

    __slots__ = ("_ends", "data")

    def __init__(self, items: list[Broadcast], fmt: WireFormat) -> None:
        if fmt is WireFormat.XML:
            wires = [item.event.xml_wire for item in items]
        else:
            wires = [item.event.proto_wire for item in items]
        self.data = b"".join(wires)
        self._ends = list(accumulate(map(len, wires)))

    def without(self, positions: list[int]) -> bytes:
        """The joined bytes minus the items at ``positions`` (ascending)."""
        ends = self._ends
        view = memoryview(self.data)
        parts = []
        start = 0
        for position in positions:
            cut = ends[position - 1] if position else 0
            if cut > start:
                parts.append(view[start:cut])
            start = ends[position]
        if start < len(self.data):
            parts.append(view[start:])
        return b"".join(parts)
